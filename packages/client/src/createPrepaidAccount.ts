import { type Address, BaseError } from '@rma/core'
import {
  Contract,
  type ContractRunner,
  type ContractTransactionReceipt,
  Interface,
  type Provider,
} from 'ethers'
import type { Ledger } from './createLedger.js'
import { InvalidClientOptionsError } from './errors.js'
import type { ClientConfig } from './resolveClientConfig.js'
import type { PrepaidBalance } from './types.js'

const settlementAbi = [
  'function prepaidBalance(address token, address user) view returns (uint256 balance, uint256 withdrawalRequested, uint64 withdrawableAt)',
  'function settledVoucher(bytes32 assetId, address meter, address user) view returns (uint64 seq, uint256 cumulativeAmount)',
  'function depositFor(address token, address user, uint256 amount)',
  'function requestWithdrawal(address token, uint256 amount)',
  'function withdraw(address token)',
  'function getAsset(bytes32 assetId) view returns (address issuer, address pendingIssuer, address token, address settler, uint16 issuerBps, uint16 supportersBps, uint16 usersBps)',
  'event PrepaidSettled(bytes32 indexed assetId, uint64 indexed epoch, uint256 vouchers, uint256 settledVouchers, uint256 debited, uint256 issuerAmount, uint256 supportersAmount, uint256 usersAmount, uint256 protocolAmount)',
  'event VoucherSettled(address indexed user, uint256 debit)',
]
const settlementInterface = new Interface(settlementAbi)
const tokenAbi = [
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
]
/** The words of `getAsset`'s static tuple read here: issuer … usersBps. */
const assetWords = 7

/** The prepaid side of `client.rma`: the user's balance on chain, deposits and withdrawals. */
export type PrepaidAccount = {
  balance(): Promise<PrepaidBalance>
  deposit(amount: bigint): Promise<ContractTransactionReceipt>
  requestWithdrawal(amount: bigint): Promise<ContractTransactionReceipt>
  withdraw(): Promise<ContractTransactionReceipt>
}

export type CreatePrepaidAccountParameters = {
  config: ClientConfig
  ledger: Ledger
  /** Reads the chain (default: the signer's provider). */
  provider?: Provider
  /** The payment token (default: the asset's, read from the settlement contract). */
  token?: Address
  /** First block to read settlement events from (default 0: the contract's deployment block is better). */
  fromBlock?: number
}

/**
 * The user's prepaid account on the settlement contract, through the signer's key: its balance
 * and pending withdrawal, what its receipts owe beyond the settled vouchers (pending), what
 * settlements debited and what they credited back as rebates (from `VoucherSettled` events of
 * this asset's `PrepaidSettled` transactions), and transactions to deposit (approving the
 * contract first when needed), request a withdrawal (0 cancels) and withdraw after the delay.
 *
 * @example
 * const account = createPrepaidAccount({ config, ledger })
 * await account.deposit(5_000_000n)
 * const { balance, pending, rebatesCredited } = await account.balance()
 */
export function createPrepaidAccount(parameters: CreatePrepaidAccountParameters): PrepaidAccount {
  const { config, ledger } = parameters
  const settlementAddress = config.domain.verifyingContract
  let asset: Promise<{ token: Address; usersBps: bigint }> | undefined

  const provider = (): Provider => {
    const found = parameters.provider ?? config.signer.provider
    if (!found)
      throw new InvalidClientOptionsError({
        shortMessage: 'Prepaid balances need a chain provider.',
        details: 'Connect the signer to a provider, or pass `prepaid: { provider }`.',
      })
    return found
  }
  const settlement = (runner: ContractRunner) =>
    new Contract(settlementAddress, settlementAbi, runner)

  const assetInfo = () => {
    asset ??= (async () => {
      // The asset view is a static tuple: its first words are issuer … usersBps.
      const data = settlementInterface.encodeFunctionData('getAsset', [config.assetId])
      const raw = await provider().call({ to: settlementAddress, data })
      const words = settlementInterface.decodeFunctionResult(
        'getAsset',
        raw.slice(0, 2 + 64 * assetWords),
      )
      return {
        token: (parameters.token ?? (words[2] as string)).toLowerCase() as Address,
        usersBps: BigInt(words[6] as bigint),
      }
    })()
    asset.catch(() => {
      asset = undefined
    })
    return asset
  }

  const send = async (
    action: string,
    run: (contract: Contract) => Promise<{ wait(): Promise<ContractTransactionReceipt | null> }>,
  ) => {
    try {
      const receipt = await (await run(settlement(config.signer))).wait()
      if (!receipt) throw new Error('no transaction receipt')
      return receipt
    } catch (cause) {
      throw new BaseError(`The ${action} transaction failed.`, {
        code: 'PREPAID_TRANSACTION_FAILED',
        details: cause instanceof Error ? cause.message.split('\n')[0] : String(cause),
        cause,
      })
    }
  }

  return {
    async balance() {
      const [{ token, usersBps }, user, blockNumber] = await Promise.all([
        assetInfo(),
        config.user(),
        provider().getBlockNumber(),
      ])
      const reader = settlement(provider())
      const at = { blockTag: blockNumber }
      const [balance, withdrawalRequested, withdrawableAt] = (await reader.getFunction(
        'prepaidBalance',
      )(token, user, at)) as [bigint, bigint, bigint]
      // Pending: what this client's receipts of the asset owe beyond each chain's settled voucher.
      let pending = 0n
      let acked = 0n
      for (const chain of ledger.chains()) {
        if (chain.assetId !== config.assetId || chain.user !== user || !chain.head) continue
        const [, settled] = (await reader.getFunction('settledVoucher')(
          chain.assetId,
          chain.meter,
          chain.user,
          at,
        )) as [bigint, bigint]
        const total = chain.head.receipt.cumulativeAmount
        if (total > settled) pending += total - settled
        const ackedHead = chain.links.get(chain.ackedSeq)
        if (ackedHead) acked += ackedHead.cumulativeAmount
      }
      // Debits and rebates: VoucherSettled(user) logs in this asset's PrepaidSettled transactions.
      const fromBlock = parameters.fromBlock ?? 0
      const [settledBatches, vouchers] = await Promise.all([
        reader.queryFilter(reader.filters.PrepaidSettled!(config.assetId), fromBlock, blockNumber),
        reader.queryFilter(reader.filters.VoucherSettled!(user), fromBlock, blockNumber),
      ])
      const ofAsset = new Set(settledBatches.map((log) => log.transactionHash))
      let debited = 0n
      let rebatesCredited = 0n
      for (const log of vouchers) {
        if (!ofAsset.has(log.transactionHash)) continue
        const debit = settlementInterface.parseLog(log)!.args[1] as bigint
        debited += debit
        rebatesCredited += (debit * usersBps) / 10_000n
      }
      return {
        token,
        balance,
        withdrawalRequested,
        withdrawableAt: Number(withdrawableAt),
        pending,
        acked,
        debited,
        rebatesCredited,
        blockNumber,
      }
    },

    async deposit(amount) {
      if (typeof amount !== 'bigint' || amount <= 0n)
        throw new InvalidClientOptionsError({
          shortMessage: 'A deposit must be a positive bigint of base units.',
        })
      const [{ token }, user] = await Promise.all([assetInfo(), config.user()])
      const erc20 = new Contract(token, tokenAbi, config.signer)
      const allowance = (await erc20.getFunction('allowance')(user, settlementAddress)) as bigint
      if (allowance < amount)
        await (await erc20.getFunction('approve')(settlementAddress, amount)).wait()
      return send('deposit', (c) => c.getFunction('depositFor')(token, user, amount))
    },

    async requestWithdrawal(amount) {
      if (typeof amount !== 'bigint' || amount < 0n)
        throw new InvalidClientOptionsError({
          shortMessage:
            'A withdrawal request must be a non-negative bigint of base units (0 cancels).',
        })
      const { token } = await assetInfo()
      return send('withdrawal request', (c) => c.getFunction('requestWithdrawal')(token, amount))
    },

    async withdraw() {
      const { token } = await assetInfo()
      return send('withdrawal', (c) => c.getFunction('withdraw')(token))
    },
  }
}
