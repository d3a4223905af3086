import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { parseAmount } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'

export const unstakeCommand: Command = {
  name: 'unstake',
  summary: 'request to unstake (all active stake by default): it stops earning now',
  usage: 'unstake [amount]',
  options: assetOptions,
  details:
    "The stake can be withdrawn (`rma withdraw`) once the asset's unbonding delay has passed.\nKey: RMA_SUPPORTER_KEYSTORE (+ _PASSWORD) or RMA_SUPPORTER_PRIVATE_KEY.",
  async run(context) {
    const wallet = await loadKey(context.env, 'RMA_SUPPORTER', {
      role: "the supporter's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const amount =
      context.args[0] === undefined
        ? (await chain.contract.stakeOf(chain.assetId, signer.address)).active
        : parseAmount(context.args[0], 'amount to unstake')
    if (amount === 0n)
      throw new CliError({
        code: 'REFUSED',
        shortMessage: `${signer.address} has no active stake on this asset: nothing to unstake (pending stake activates at the next settlement).`,
      })
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'requestUnstake',
      () => chain.contract.connect(signer).requestUnstake(chain.assetId, amount),
      { names: { [signer.address]: 'the supporter' } },
    )
    const position = await chain.contract.stakeOf(chain.assetId, signer.address)
    const end = Number(position.unbondingEnd)
    context.print(
      {
        ok: true,
        supporter: signer.address,
        amount: amount.toString(),
        unbonding: position.unbonding.toString(),
        unbondingEnd: end,
        txHash: receipt.hash,
      },
      `unbonding ${amount} of ${signer.address}: withdraw with \`rma withdraw\` from ${new Date(end * 1000).toISOString()} (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
