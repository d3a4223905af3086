import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeterError } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { encryptKeystoreJsonSync, Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { rmaMeter } from './rmaMeter.js'
import {
  assetId,
  chainId,
  createMeteredApp,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

const base = { assetId, chainId, settlementContract, prices, store: createMemoryStore() }
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

function thrown(make: () => unknown): MeterError {
  try {
    make()
  } catch (error) {
    expect(error).toBeInstanceOf(MeterError)
    return error as MeterError
  }
  throw new Error('expected construction to throw')
}

describe('startup: a meter that could not sign receipts does not start', () => {
  test('no key at all: throws at construction, saying what to set', () => {
    const error = thrown(() => rmaMeter({ ...base, env: {} }))
    expect(error.code).toBe('rma_meter_key')
    expect(error.message).toBe(
      'No meter key.\n\nDetails: Pass `signer` or `keystore`, or set RMA_METER_PRIVATE_KEY or RMA_METER_KEYSTORE.',
    )
  })

  test.each([
    [{ signer: '0x1234' }, 'The meter key from the signer option is not a valid private key.'],
    [
      { env: { RMA_METER_PRIVATE_KEY: 'not-a-key' } },
      'The meter key from RMA_METER_PRIVATE_KEY is not a valid private key.',
    ],
    [
      { signer: { address: '0x' } as never },
      'The signer option is neither an ethers Signer nor a 0x private key.',
    ],
    [
      { keystore: { path: '/nonexistent/meter.json', password: 'x' } },
      'The meter keystore file /nonexistent/meter.json cannot be read.',
    ],
  ])('an invalid key source throws at construction: %j', (source, message) => {
    const error = thrown(() => rmaMeter({ ...base, env: {}, ...source }))
    expect(error.code).toBe('rma_meter_key')
    expect(error.shortMessage).toBe(message)
    // The key itself never appears in the error.
    expect(error.message).not.toContain('not-a-key')
  })

  test('a keystore with the wrong password throws at construction; the right one starts', async () => {
    const wallet = Wallet.createRandom()
    const json = encryptKeystoreJsonSync(
      { address: wallet.address, privateKey: wallet.privateKey },
      'right',
      { scrypt: { N: 1024 } },
    )
    const path = join(mkdtempSync(join(tmpdir(), 'rma-keystore-')), 'meter.json')
    writeFileSync(path, json)
    const error = thrown(() => rmaMeter({ ...base, keystore: { path, password: 'wrong' } }))
    expect(error.shortMessage).toBe('The meter keystore could not be decrypted.')
    const meter = rmaMeter({ ...base, keystore: { path, password: 'right' } })
    await meter.ready
    expect((await meter.config.signer()).address).toBe(wallet.address)
  })

  test('an unreachable RPC: ready rejects saying so, and every paid call is refused (503) unforwarded', async () => {
    const app = await createMeteredApp({
      store: createMemoryStore(),
      meter: { rpcUrl: 'http://127.0.0.1:9/' },
    })
    try {
      await expect(app.meter.ready).rejects.toMatchObject({
        code: 'rma_meter_misconfigured',
        shortMessage: 'The RPC at http://127.0.0.1:9/ cannot be reached.',
      })
      const res = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'rma-attestation': await attestWith(Wallet.createRandom() as never, { body }) },
        body,
      })
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'rma_meter_misconfigured',
      )
      expect(app.upstream.requests).toHaveLength(0)
    } finally {
      await app.close()
    }
  })

  test('an attestation for another chain or contract: the error names both as possible causes', async () => {
    const app = await createMeteredApp({ store: createMemoryStore() })
    const user = Wallet.createRandom() as unknown as Wallet
    try {
      for (const target of [
        { chainId: 1 },
        { settlementContract: `0x${'12'.repeat(20)}` as const },
      ]) {
        const res = await fetch(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'rma-attestation': await attestWith(user, { body, ...target }) },
          body,
        })
        expect(res.status).toBe(401)
        expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
          `The rma-attestation signature does not match its user. Either it was signed by another key, or for another chain id or settlement contract: this meter expects chainId ${chainId} and contract ${settlementContract.toLowerCase()}.`,
        )
      }
      expect(app.upstream.requests).toHaveLength(0)
    } finally {
      await app.close()
    }
  })
})
