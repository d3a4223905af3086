import type { ContractTransactionResponse } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { sendTransaction } from '../sendTransaction.js'

export const withdrawCommand: Command = {
  name: 'withdraw',
  summary: 'withdraw unbonded stake once the unbonding delay has passed',
  usage: 'withdraw',
  options: assetOptions,
  details: 'Key: RMA_SUPPORTER_KEYSTORE (+ _PASSWORD) or RMA_SUPPORTER_PRIVATE_KEY.',
  async run(context) {
    const wallet = await loadKey(context.env, 'RMA_SUPPORTER', {
      role: "the supporter's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const position = await chain.contract.stakeOf(chain.assetId, signer.address)
    if (position.unbonding === 0n)
      throw new CliError({
        code: 'REFUSED',
        shortMessage: `${signer.address} has nothing unbonding on this asset: request it first with \`rma unstake\`.`,
      })
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'withdraw',
      // By its full signature: `withdraw` is overloaded once prepaid balances exist.
      () =>
        chain.contract.connect(signer).getFunction('withdraw(bytes32)')(
          chain.assetId,
        ) as Promise<ContractTransactionResponse>,
      { names: { [signer.address]: 'the supporter' } },
    )
    context.print(
      {
        ok: true,
        supporter: signer.address,
        amount: position.unbonding.toString(),
        txHash: receipt.hash,
      },
      `withdrew ${position.unbonding} to ${signer.address} (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}
