import type { ContractTransactionResponse, Provider, TransactionReceipt } from 'ethers'
import { CliError } from './CliError.js'
import type { CommandContext } from './Command.js'
import { toCliError } from './toCliError.js'

/** How long a sent transaction may take to be mined before the command gives up waiting. */
export const defaultMineTimeoutMs = 180_000

/**
 * Sends one transaction and waits until it is mined, with progress on stderr. A refusal (ethers
 * estimates gas first, so a revert is caught before anything is sent) is decoded into one line
 * by `toCliError`; the wait polls the receipt and gives up after `mineTimeoutMs`.
 *
 * @example
 * const receipt = await sendTransaction(context, provider, 'stake', () => contract.stake(assetId, amount))
 */
export async function sendTransaction(
  context: CommandContext,
  provider: Provider,
  label: string,
  send: () => Promise<ContractTransactionResponse>,
  options: { names?: Record<string, string>; mineTimeoutMs?: number } = {},
): Promise<TransactionReceipt> {
  context.progress(`${label}: sending`)
  let tx: ContractTransactionResponse
  try {
    tx = await send()
  } catch (error) {
    throw toCliError(error, options.names)
  }
  context.progress(`${label}: ${tx.hash} sent, waiting for it to be mined`)
  const timeoutMs = options.mineTimeoutMs ?? defaultMineTimeoutMs
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const receipt = await provider.getTransactionReceipt(tx.hash).catch((error: unknown) => {
      throw toCliError(error)
    })
    if (receipt) {
      if (receipt.status !== 1)
        throw new CliError({
          code: 'REFUSED',
          shortMessage: `${label}: transaction ${tx.hash} reverted on chain: run the command again to see the reason.`,
        })
      context.progress(`${label}: mined in block ${receipt.blockNumber}`)
      return receipt
    }
    if (Date.now() > deadline)
      throw new CliError({
        code: 'TIMEOUT',
        shortMessage: `${label}: transaction ${tx.hash} was not mined within ${timeoutMs / 1000} s: it may still be; look it up before sending again.`,
      })
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
