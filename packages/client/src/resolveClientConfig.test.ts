import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { InvalidClientOptionsError } from './errors.js'
import { isMeteredCall } from './isMeteredCall.js'
import { type RmaClientOptions, resolveClientConfig } from './resolveClientConfig.js'

const valid: RmaClientOptions = {
  signer: Wallet.createRandom(),
  assetId: `0x${'a5'.repeat(32)}`,
  chainId: 31337,
  settlementContract: `0x${'5e'.repeat(20)}`,
  meters: [`0x${'11'.repeat(20)}`],
  maxAmountPerCall: 1_000n,
}

describe('resolveClientConfig', () => {
  test('defaults', () => {
    const config = resolveClientConfig(valid)
    expect(config).toMatchObject({
      attestationTtl: 60,
      onMismatch: 'throw',
      ackMode: 'next-call',
      receiptFetchTimeout: 10_000,
      clockSkew: 300,
      checkGaps: true,
    })
    expect(config.domain).toEqual({
      name: 'RMA',
      version: '1',
      chainId: 31337n,
      verifyingContract: valid.settlementContract,
    })
    expect(config.rmaBaseURL(new URL('http://h:1/v1/chat/completions'))).toBe('http://h:1/rma')
  })

  test.each([
    [
      { maxAmountPerCall: 5 as unknown as bigint },
      '`maxAmountPerCall` must be a non-negative bigint.\n\nDetails: It is the spend cap of each call, in payment-token base units.',
    ],
    [{ assetId: '0x12' as `0x${string}` }, '`assetId` must be a 0x-prefixed bytes32.'],
    [{ settlementContract: 'nope' as `0x${string}` }, '`settlementContract` must be an address.'],
    [{ attestationTtl: 601 }, '`attestationTtl` must be 1 to 600 seconds.'],
    [
      { meters: undefined as unknown as [] },
      '`meters` is required: the meter addresses trusted to sign receipts.',
    ],
    [{ signer: {} as Wallet }, '`signer` must be an ethers v6 Signer (the API user).'],
  ])('rejects %o', (override, message) => {
    const run = () => resolveClientConfig({ ...valid, ...override })
    expect(run).toThrow(InvalidClientOptionsError)
    expect(run).toThrow(message)
  })

  test('a meter loader is called once, and again on an unknown meter after 5 s', async () => {
    let loads = 0
    const config = resolveClientConfig({
      ...valid,
      meters: async () => {
        loads++
        return [`0x${'11'.repeat(20)}`]
      },
    })
    expect(await config.trustedMeter(`0x${'11'.repeat(20)}`)).toBe(true)
    expect(await config.trustedMeter(`0x${'22'.repeat(20)}`)).toBe(false)
    expect(loads).toBe(1)
  })
})

describe('isMeteredCall', () => {
  test.each([
    ['http://h/v1/chat/completions', 'POST', true],
    ['http://h/openai/deployments/x/chat/completions/', 'post', true],
    ['http://h/v1/responses', 'POST', true],
    ['http://h/v1/embeddings', 'POST', true],
    ['http://h/v1/completions', 'POST', true],
    ['http://h/v1/responses/resp_1', 'GET', false],
    ['http://h/v1/models', 'GET', false],
    ['http://h/v1/audio/transcriptions', 'POST', false],
  ])('%s %s → %s', (url, method, metered) => {
    expect(isMeteredCall(new URL(url), method)).toBe(metered)
  })
})
