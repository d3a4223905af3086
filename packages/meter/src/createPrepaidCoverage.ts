import { randomUUID } from 'node:crypto'
import type { Address, ChainRef, Hex, ReceiptStore } from '@rma/core'
import { InsufficientBalanceError, MeterError } from './errors.js'
import { type PrepaidState, readAssetToken, readPrepaidState } from './readPrepaidState.js'

/** The prepaid settings of a meter, resolved (see `RmaMeterOptions.prepaid`). */
export type PrepaidConfig = {
  /** The payment token; read from the asset on chain when undefined. */
  token: Address | undefined
  balanceCacheMs: number
  maxUnacked: number
  reservationTtlMs: number
}

export type CreatePrepaidCoverageParameters = {
  prepaid: PrepaidConfig
  store: ReceiptStore
  assetId: Hex
  rpcUrl: string
  settlementContract: Address
  fetch?: typeof fetch
}

/** A call's reservation: `release` (idempotent) once its receipt is stored or it ended without one. */
export type PrepaidHold = { id: string; amount: bigint; release(): Promise<void> }

export type PrepaidCoverage = {
  /**
   * Reserves `amount` (the call's `maxAmount`) for `user` if its balance covers it; throws
   * {@link InsufficientBalanceError} (402) if not, {@link MeterError} 402 `rma_ack_required`
   * when the chain's unacked tail is at `maxUnacked`, 503 when the chain cannot be read.
   */
  admit(parameters: { user: Address; meter: Address; amount: bigint }): Promise<PrepaidHold>
}

/**
 * The meter's coverage rule for prepaid users. A call is served only while
 *
 *   balance − withdrawalRequested ≥ pending + reserved + maxAmount
 *
 * where balance and withdrawal request are read on chain (cached `balanceCacheMs` per user),
 * pending is Σ over the user's chains in the store at assets paying in the same token of (head
 * cumulative amount − the chain's settled voucher on chain), and reserved is the `maxAmount` of
 * each of the user's calls in flight. The check and the reservation are one atomic store
 * operation (`store.reserve`), so meters sharing a store never admit past the balance together.
 * A refusal with a cached balance reads the chain again once (a deposit may have landed).
 *
 * @example
 * const coverage = createPrepaidCoverage({ prepaid, store, assetId, rpcUrl, settlementContract })
 * const hold = await coverage.admit({ user, meter, amount: maxAmount })
 * // ... serve, store the receipt ...
 * await hold.release()
 */
export function createPrepaidCoverage(
  parameters: CreatePrepaidCoverageParameters,
): PrepaidCoverage {
  const { prepaid, store, assetId, rpcUrl, settlementContract } = parameters
  const tokens = new Map<string, Promise<Address>>()
  const states = new Map<string, { at: number; state: Promise<PrepaidState> }>()

  const tokenOf = (asset: Hex): Promise<Address> => {
    const key = asset.toLowerCase()
    if (key === assetId.toLowerCase() && prepaid.token)
      return Promise.resolve(prepaid.token.toLowerCase() as Address)
    let token = tokens.get(key)
    if (!token) {
      token = readAssetToken({
        rpcUrl,
        settlementContract,
        assetId: asset,
        fetch: parameters.fetch,
      })
      tokens.set(key, token)
      token.catch(() => tokens.delete(key))
    }
    return token
  }

  /**
   * The user's state, read at most once per `balanceCacheMs`, or again if read before
   * `notBefore`. A chain missing from a cached read counts as settled at 0 (the safe side).
   */
  const stateOf = (token: Address, user: Address, chains: ChainRef[], notBefore: number) => {
    const now = Date.now()
    const cached = states.get(user)
    if (cached && cached.at >= notBefore && now - cached.at < prepaid.balanceCacheMs) return cached
    const entry = {
      at: now,
      state: readPrepaidState({
        rpcUrl,
        settlementContract,
        token,
        user,
        chains,
        fetch: parameters.fetch,
      }),
    }
    states.set(user, entry)
    entry.state.catch(() => {
      if (states.get(user) === entry) states.delete(user)
    })
    // Bounded: entries past their age are dropped as others are added.
    if (states.size > 10_000)
      for (const [key, value] of states)
        if (now - value.at >= prepaid.balanceCacheMs) states.delete(key)
    return entry
  }

  return {
    async admit({ user, meter, amount }) {
      const token = await tokenOf(assetId)
      const chain = { assetId, meter, user }
      const all = await store.listChains({ user })
      const chains: ChainRef[] = []
      const assets = new Set<Hex>([assetId.toLowerCase() as Hex])
      for (const c of all) {
        if ((await tokenOf(c.assetId)) !== token) continue
        assets.add(c.assetId.toLowerCase() as Hex)
        chains.push({ assetId: c.assetId, meter: c.meter, user: c.user })
      }
      const id = randomUUID()
      const started = Date.now()
      for (let attempt = 0; ; attempt++) {
        const entry = stateOf(token, user, chains, attempt === 0 ? 0 : started)
        const state = await entry.state
        const limit =
          state.balance > state.withdrawalRequested ? state.balance - state.withdrawalRequested : 0n
        const result = await store.reserve({
          id,
          chain,
          assets: [...assets],
          amount,
          limit,
          settled: state.settled,
          maxUnacked: prepaid.maxUnacked,
          expiresAt: Date.now() + prepaid.reservationTtlMs,
        })
        if (result.reserved) {
          let released: Promise<void> | undefined
          return {
            id,
            amount,
            release: () => {
              released ??= store.release(id)
              return released
            },
          }
        }
        if (result.reason === 'unacked')
          throw new MeterError({
            status: 402,
            type: 'invalid_request_error',
            code: 'rma_ack_required',
            message: `${result.unacked} of your receipts of this chain are not countersigned (calls in flight included); a call is served only while fewer than ${prepaid.maxUnacked} are.`,
            details:
              'Ack your latest receipt (the rma-ack header of your next call, or POST /rma/acks) before more calls.',
          })
        // A balance read before this call may predate a deposit: read once more before refusing
        // (calls refused together share that read).
        if (attempt === 0 && entry.at < started) continue
        throw new InsufficientBalanceError({
          token,
          balance: limit,
          pending: result.pending,
          reserved: result.held,
          needed: amount,
        })
      }
    },
  }
}
