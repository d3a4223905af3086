import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { formatDuration } from '../formatDuration.js'
import { loadKey } from '../loadKey.js'
import { parseDuration } from '../parseDuration.js'
import { sendTransaction } from '../sendTransaction.js'

export const assetSetChallengeWindowCommand: Command = {
  name: 'asset set-challenge-window',
  summary: 'set how long postpaid batches stay pending (challengeable) before their release',
  usage: 'asset set-challenge-window <duration>',
  options: assetOptions,
  details:
    'The window of batches settled from now on: seconds or 90m, 36h, 7d (from the deployment’s minimum to 7 days; 0 credits batches at once when the minimum is 0). A settled batch keeps its time.\nKey: RMA_ISSUER_KEYSTORE (+ _PASSWORD) or RMA_ISSUER_PRIVATE_KEY (only the issuer may).',
  async run(context) {
    const value = context.args[0]
    if (!value)
      throw new CliError({
        code: 'USAGE',
        shortMessage:
          'The window is required: rma asset set-challenge-window <duration> (e.g. 6h).',
      })
    const seconds = parseDuration(value, 'The window')
    const wallet = await loadKey(context.env, 'RMA_ISSUER', {
      role: "the issuer's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const previous = Number(await chain.contract.challengeWindowOf(chain.assetId))
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'setChallengeWindow',
      () => chain.contract.connect(signer).setChallengeWindow(chain.assetId, seconds),
      { names: { [signer.address]: 'the key sending' } },
    )
    context.print(
      { ok: true, challengeWindow: seconds, previous, txHash: receipt.hash },
      `challenge window ${formatDuration(seconds)} (was ${formatDuration(previous)}) for batches settled from now on (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
