import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { MeterError } from './errors.js'
import { resolveMeterConfig } from './resolveMeterConfig.js'
import { assetId, chainId, prices, settlementContract } from './testing/testAsset.js'

const base = {
  assetId,
  chainId,
  settlementContract,
  prices,
  store: createMemoryStore(),
  signer: Wallet.createRandom().privateKey,
}

describe('prepaid options', () => {
  test('defaults: balance cache 2 s, unacked tail 16, reservations counted for 30 min', () => {
    const config = resolveMeterConfig({ ...base, rpcUrl: 'http://127.0.0.1:8545', prepaid: true })
    expect(config.prepaid).toEqual({
      token: undefined,
      balanceCacheMs: 2_000,
      maxUnacked: 16,
      reservationTtlMs: 1_800_000,
    })
    expect(resolveMeterConfig(base).prepaid).toBeUndefined()
  })

  test.each([
    [{ prepaid: true }, '`prepaid` needs `rpcUrl`: balances are read from the settlement chain.'],
    [
      { rpcUrl: 'http://x', prepaid: { maxUnacked: 0 } },
      '`prepaid.maxUnacked` must be an integer of at least 1.',
    ],
    [
      { rpcUrl: 'http://x', prepaid: { balanceCacheMs: -1 } },
      '`prepaid.balanceCacheMs` must be an integer of at least 0.',
    ],
    [{ rpcUrl: 'http://x', prepaid: { token: '0x12' } }, '`prepaid.token` must be an address.'],
    [
      { rpcUrl: 'http://x', prepaid: 'yes' },
      '`prepaid` must be true or an object of prepaid options.',
    ],
  ])('a bad prepaid option is refused at construction: %j', (options, message) => {
    let error: unknown
    try {
      resolveMeterConfig({ ...base, ...(options as object) })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MeterError)
    expect(error).toMatchObject({ code: 'rma_invalid_option', shortMessage: message })
  })
})
