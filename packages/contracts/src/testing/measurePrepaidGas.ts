import { keccak256, MaxUint256, Signature, toBeHex, Wallet } from 'ethers'
import type { Voucher } from '../types.js'
import { deploySettlementFixture } from './deploySettlementFixture.js'
import { rmaDomain, signVoucher } from './signVoucher.js'
import type { Anvil } from './startAnvil.js'

export type MeasurePrepaidGasParameters = {
  /** Chains per measured `settlePrepaid` batch, one user each (default 1, 10 and 100). */
  chainsPerBatch?: readonly number[]
  /** Calls each voucher covers in the per-call figures (default 1,000). */
  callsPerChain?: number
  /** The price of one call in base units (default 2,750). */
  pricePerCall?: bigint
}

/** Gas used by each transaction (`gasUsed` of its receipt, so including the 21,000 base). */
export type PrepaidGas = {
  /**
   * Steady-state `settlePrepaid` by chains per batch: every chain has a settled voucher and
   * every user a balance, so each voucher rewrites two warm-able, non-zero slots.
   */
  settleByChains: Record<number, bigint>
  /** The batch that settles the first voucher of the largest number of chains (fresh slots). */
  settleFirst: { chains: number; gas: bigint }
  /** A batch of the largest size whose vouchers are all skipped (forged signatures). */
  settleAllSkipped: { chains: number; gas: bigint }
  callsPerChain: number
  /** A user's first deposit (`depositFor` by a funder), and one to an existing balance. */
  depositFirst: bigint
  depositMore: bigint
  /** `depositWithPermit` submitted by a relayer, to an existing balance. */
  depositWithPermit: bigint
  requestWithdrawal: bigint
  withdraw: bigint
}

/**
 * Deploys a fresh fixture on `anvil` and measures the gas of the prepaid path of the settlement
 * contract from real transaction receipts: deposits, the withdrawal, and `settlePrepaid` at
 * several batch sizes. The supporters' stake is active, so each settle credits it as in
 * production. Users are random keys funded through `depositFor`.
 *
 * @example
 * const anvil = await startAnvil()
 * const gas = await measurePrepaidGas(anvil, { chainsPerBatch: [1, 10, 100] })
 * Number(gas.settleByChains[100]) / 100 // gas per chain
 */
export async function measurePrepaidGas(
  anvil: Anvil,
  parameters: MeasurePrepaidGasParameters = {},
): Promise<PrepaidGas> {
  const { chainsPerBatch = [1, 10, 100], callsPerChain = 1_000, pricePerCall = 2_750n } = parameters
  const fx = await deploySettlementFixture(anvil)
  const { settlement, assetId, settler, meter, tokenAddress, token, settlementAddress } = fx
  const [supporter, funder, relayer] = fx.others as [Wallet, Wallet, Wallet]
  const gasOf = async (sent: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
    const receipt = await (await sent).wait()
    if (!receipt) throw new Error('not mined')
    return receipt.gasUsed
  }
  const chainId = (await anvil.provider.getNetwork()).chainId
  const domain = rmaDomain(chainId, settlementAddress)
  const largest = Math.max(...chainsPerBatch)
  const users = Array.from({ length: largest }, () => Wallet.createRandom())
  const chains = users.map(() => ({ seq: 0n, cumulative: 0n }))
  const increase = BigInt(callsPerChain) * pricePerCall

  // Active stake, as in production: two settles activate it and release what was held.
  await gasOf(settlement.connect(supporter).stake(assetId, 10n ** 12n))
  await gasOf(settlement.connect(settler).settlePrepaid(assetId, []))
  await gasOf(settlement.connect(settler).settlePrepaid(assetId, []))

  const depositFirst = await gasOf(
    settlement.connect(funder).depositFor(tokenAddress, users[0]!.address, 10n ** 12n),
  )
  for (const user of users.slice(1))
    await gasOf(settlement.connect(funder).depositFor(tokenAddress, user.address, 10n ** 12n))
  const depositMore = await gasOf(
    settlement.connect(funder).depositFor(tokenAddress, users[0]!.address, 10n ** 6n),
  )

  const next = async (i: number): Promise<Voucher> => {
    const chain = chains[i]!
    chain.seq += BigInt(callsPerChain)
    chain.cumulative += increase
    const {
      signature: _,
      assetId: __,
      ...voucher
    } = await signVoucher(users[i]!, domain, {
      assetId,
      user: users[i]!.address,
      meter: meter.address,
      seq: chain.seq,
      receiptHash: keccak256(toBeHex(chain.seq, 32)),
      cumulativeAmount: chain.cumulative,
    })
    return voucher
  }
  const batch = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => next(i)))
  const settle = (vouchers: Voucher[]) =>
    gasOf(settlement.connect(settler).settlePrepaid(assetId, vouchers))

  const settleFirst = { chains: largest, gas: await settle(await batch(largest)) }
  const settleByChains: Record<number, bigint> = {}
  for (const n of chainsPerBatch) settleByChains[n] = await settle(await batch(n))
  // Forged vouchers (the user's signature on other fields) are skipped, each with an event.
  const forged = (await batch(largest)).map((v) => ({ ...v, cumulativeAmount: 10n ** 30n }))
  const settleAllSkipped = { chains: largest, gas: await settle(forged) }

  // The funder's own balance: a permit deposit by a relayer, then the withdrawal.
  await gasOf(settlement.connect(funder).depositFor(tokenAddress, funder.address, 10n ** 6n))
  const deadline = BigInt((await anvil.provider.getBlock('latest'))!.timestamp) + 3600n
  const permit = Signature.from(
    await funder.signTypedData(
      { name: 'Test USD', version: '1', chainId, verifyingContract: tokenAddress },
      {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      {
        owner: funder.address,
        spender: settlementAddress,
        value: 10n ** 6n,
        nonce: await token.nonces(funder.address),
        deadline,
      },
    ),
  )
  const depositWithPermit = await gasOf(
    settlement
      .connect(relayer)
      .depositWithPermit(
        tokenAddress,
        funder.address,
        10n ** 6n,
        deadline,
        permit.v,
        permit.r,
        permit.s,
      ),
  )
  // The permit replaced the funder's standing allowance: restore it for later use.
  await gasOf(token.connect(funder).approve(settlementAddress, MaxUint256))
  const requestWithdrawal = await gasOf(
    settlement.connect(funder).requestWithdrawal(tokenAddress, 10n ** 6n),
  )
  await anvil.increaseTime(Number(await settlement.withdrawalDelay()))
  const withdraw = await gasOf(settlement.connect(funder)['withdraw(address)'](tokenAddress))
  return {
    settleByChains,
    settleFirst,
    settleAllSkipped,
    callsPerChain,
    depositFirst,
    depositMore,
    depositWithPermit,
    requestWithdrawal,
    withdraw,
  }
}
