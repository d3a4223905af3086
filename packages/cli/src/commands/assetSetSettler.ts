import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { sendTransaction } from '../sendTransaction.js'

export const assetSetSettlerCommand: Command = {
  name: 'asset set-settler',
  summary: "make another account the asset's settler",
  usage: 'asset set-settler <address>',
  options: assetOptions,
  details:
    'Key: RMA_ISSUER_KEYSTORE (+ _PASSWORD) or RMA_ISSUER_PRIVATE_KEY (only the issuer may).',
  async run(context) {
    const settler = context.args[0]
    if (!settler || !/^0x[0-9a-fA-F]{40}$/.test(settler))
      throw new CliError({
        code: 'USAGE',
        shortMessage: "The settler's address is required: rma asset set-settler <address>.",
      })
    const wallet = await loadKey(context.env, 'RMA_ISSUER', {
      role: "the issuer's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'setSettler',
      () => chain.contract.connect(signer).setSettler(chain.assetId, settler),
      { names: { [signer.address]: 'the key sending' } },
    )
    context.print(
      { ok: true, settler, previous: chain.asset.settler, txHash: receipt.hash },
      `settler ${settler} (was ${chain.asset.settler}) (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
