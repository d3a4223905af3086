import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { erc20 } from '../erc20.js'
import { loadKey } from '../loadKey.js'
import { parseAmount } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'

export const stakeCommand: Command = {
  name: 'stake',
  summary: "stake the asset's payment token as a supporter (approves it first)",
  usage: 'stake <amount>',
  options: assetOptions,
  details: [
    'The amount is in base units of the payment token. The key is RMA_SUPPORTER_KEYSTORE',
    '(+ _PASSWORD) or RMA_SUPPORTER_PRIVATE_KEY. Stake is pending until the next settlement and',
    'earns from the one after it. Example: rma stake 1000000000   (1,000 of a 6-decimal token)',
  ].join('\n'),
  async run(context) {
    const amount = parseAmount(context.args[0], 'amount to stake')
    const wallet = await loadKey(context.env, 'RMA_SUPPORTER', {
      role: "the supporter's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const names = { [signer.address]: 'the supporter' }
    const token = erc20(chain.asset.token, signer)
    const allowance = await token.allowance(signer.address, chain.contractAddress)
    if (allowance < amount)
      await sendTransaction(
        context,
        chain.provider,
        'approve',
        () => token.contract.getFunction('approve')(chain.contractAddress, amount),
        { names },
      )
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'stake',
      () => chain.contract.connect(signer).stake(chain.assetId, amount),
      { names },
    )
    const pending = await chain.contract.pendingStakeOf(chain.assetId, signer.address)
    context.print(
      {
        ok: true,
        supporter: signer.address,
        amount: amount.toString(),
        pending: pending.amount.toString(),
        activationEpoch: Number(pending.activationEpoch),
        txHash: receipt.hash,
      },
      `staked ${amount} as ${signer.address}: ${pending.amount} pending, active from epoch ${pending.activationEpoch} (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
