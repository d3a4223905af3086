import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { sendTransaction } from '../sendTransaction.js'

export const assetSetMeterCommand: Command = {
  name: 'asset set-meter',
  summary: 'authorise a meter key for the asset (or revoke it with --revoke)',
  usage: 'asset set-meter <address> [--revoke]',
  options: {
    ...assetOptions,
    revoke: { type: 'boolean', description: 'revoke the meter instead' },
  },
  details:
    'Key: RMA_ISSUER_KEYSTORE (+ _PASSWORD) or RMA_ISSUER_PRIVATE_KEY (only the issuer may).',
  async run(context) {
    const meter = context.args[0]
    if (!meter || !/^0x[0-9a-fA-F]{40}$/.test(meter))
      throw new CliError({
        code: 'USAGE',
        shortMessage: "The meter's address is required: rma asset set-meter <address>.",
      })
    const allowed = context.options.revoke !== true
    const wallet = await loadKey(context.env, 'RMA_ISSUER', {
      role: "the issuer's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'setMeter',
      () => chain.contract.connect(signer).setMeter(chain.assetId, meter, allowed),
      { names: { [signer.address]: 'the key sending' } },
    )
    context.print(
      { ok: true, meter, allowed, txHash: receipt.hash },
      `meter ${meter} ${allowed ? 'authorised' : 'revoked'} (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
