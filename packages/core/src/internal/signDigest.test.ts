import { SigningKey } from 'ethers'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { currentSignatureBackend, reloadSignatureBackend } from './nativeSecp256k1.js'
import { signDigest } from './signDigest.js'

const bytes32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as const)
/** Valid private keys: 1 <= key < n (a random 32 bytes is >= n with probability ~2^-128). */
const privateKey = bytes32.filter((k) => BigInt(k) !== 0n)

describe('signDigest', () => {
  afterEach(() => {
    delete process.env.RMA_SECP256K1
    reloadSignatureBackend()
  })

  test('libsecp256k1 signs here (else the property below only compares ethers with itself)', () => {
    expect(currentSignatureBackend()).toBe('native')
  })

  test('gives ethers SigningKey.sign signatures byte for byte, on every backend', () => {
    fc.assert(
      fc.property(privateKey, bytes32, (key, digest) => {
        const signingKey = new SigningKey(key)
        const expected = signingKey.sign(digest).serialized
        delete process.env.RMA_SECP256K1
        reloadSignatureBackend()
        const native = signDigest(digest, signingKey)
        process.env.RMA_SECP256K1 = 'js'
        reloadSignatureBackend()
        const js = signDigest(digest, signingKey)
        expect(native).toBe(expected)
        expect(js).toBe(expected)
      }),
      { numRuns: 300, seed: 7 },
    )
  })

  test('keeps each key apart: a cached key is never used for another signer', () => {
    const a = new SigningKey(`0x${'11'.repeat(32)}`)
    const b = new SigningKey(`0x${'22'.repeat(32)}`)
    const digest = `0x${'ab'.repeat(32)}` as const
    expect(signDigest(digest, a)).toBe(a.sign(digest).serialized)
    expect(signDigest(digest, b)).toBe(b.sign(digest).serialized)
    expect(signDigest(digest, a)).not.toBe(signDigest(digest, b))
  })
})
