import { parseSettlementError } from '@rma/contracts'
import type { ContractTransactionResponse } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { erc20 } from '../erc20.js'
import { formatDuration } from '../formatDuration.js'
import { loadKey } from '../loadKey.js'
import { readChainTime } from '../readChainTime.js'
import { parseAmount } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'

export const withdrawBalanceCommand: Command = {
  name: 'withdraw-balance',
  summary: 'leave prepaid: request a withdrawal, then withdraw it after the delay',
  usage: 'withdraw-balance [--request <amount>]',
  options: {
    ...assetOptions,
    request: {
      type: 'string',
      value: 'amount',
      description: 'ask to withdraw this much after the delay (0 cancels the request)',
    },
  },
  details: [
    'Key: RMA_USER_KEYSTORE (+ _PASSWORD) or RMA_USER_PRIVATE_KEY. Two steps: `--request <amount>`',
    "starts the contract's withdrawal delay (a new request replaces the previous one and restarts",
    'it); vouchers the user acked still settle meanwhile. Without --request, pays out the request',
    'once the delay has passed: the smaller of the amount requested and the balance left. Before',
    'then the chain refuses (WithdrawalLocked) and the time left is printed; nothing moves.',
  ].join('\n'),
  async run(context) {
    const requested =
      context.options.request === undefined
        ? undefined
        : parseAmount(context.options.request as string, 'amount to request')
    const wallet = await loadKey(context.env, 'RMA_USER', {
      role: "the user's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    try {
      const signer = wallet.connect(chain.provider)
      const token = String(chain.asset.token)
      const names = { [signer.address]: 'the user' }
      const contract = chain.contract.connect(signer)
      if (requested !== undefined) {
        const receipt = await sendTransaction(
          context,
          chain.provider,
          'requestWithdrawal',
          () => contract.requestWithdrawal(token, requested),
          { names },
        )
        const after = await chain.contract.prepaidBalance(token, signer.address)
        const at = new Date(Number(after.withdrawableAt) * 1000).toISOString()
        context.print(
          {
            ok: true,
            user: signer.address,
            token,
            withdrawalRequested: after.withdrawalRequested.toString(),
            withdrawableAt: Number(after.withdrawableAt),
            balance: after.balance.toString(),
            txHash: receipt.hash,
          },
          requested === 0n
            ? `withdrawal request cancelled for ${signer.address}: prepaid balance ${after.balance} (tx ${receipt.hash})`
            : `withdrawal of ${requested} requested for ${signer.address}: run \`rma withdraw-balance\` from ${at} (tx ${receipt.hash})`,
        )
        return 0
      }
      const before = await chain.contract.prepaidBalance(token, signer.address)
      if (before.withdrawalRequested === 0n)
        throw new CliError({
          code: 'REFUSED',
          shortMessage: `${signer.address} has no withdrawal requested: request one first with \`rma withdraw-balance --request <amount>\`.`,
        })
      const wallet0 = await erc20(token, chain.provider).balanceOf(signer.address)
      let receipt: Awaited<ReturnType<typeof sendTransaction>>
      try {
        receipt = await sendTransaction(
          context,
          chain.provider,
          'withdraw',
          // By its full signature: the supporters' `withdraw(bytes32)` shares the name.
          () =>
            contract.getFunction('withdraw(address)')(
              token,
            ) as Promise<ContractTransactionResponse>,
          { names },
        )
      } catch (error) {
        throw await explainLocked(error, chain.provider)
      }
      const amount = (await erc20(token, chain.provider).balanceOf(signer.address)) - wallet0
      const after = await chain.contract.prepaidBalance(token, signer.address)
      context.print(
        {
          ok: true,
          user: signer.address,
          token,
          amount: amount.toString(),
          balance: after.balance.toString(),
          txHash: receipt.hash,
        },
        `withdrew ${amount} to ${signer.address}: prepaid balance ${after.balance} left (tx ${receipt.hash})`,
      )
      return 0
    } finally {
      chain.provider.destroy()
    }
  },
}

/**
 * The chain's `WithdrawalLocked(withdrawableAt)` as one line with the time left on the
 * chain's clock; any other error unchanged.
 */
async function explainLocked(
  error: unknown,
  provider: Parameters<typeof readChainTime>[0],
): Promise<unknown> {
  const reverted = parseSettlementError(error instanceof CliError ? error.cause : error)
  if (reverted?.name !== 'WithdrawalLocked') return error
  const at = BigInt(reverted.args[0])
  const left = at - (await readChainTime(provider))
  return new CliError({
    code: 'REFUSED',
    shortMessage: `The withdrawal is still locked for ${formatDuration(left)} (until ${new Date(Number(at) * 1000).toISOString()}, chain time): run \`rma withdraw-balance\` again then; nothing was sent (WithdrawalLocked).`,
    cause: error,
  })
}
