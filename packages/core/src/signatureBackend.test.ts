import { recoverAddress, SigningKey } from 'ethers'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { reloadSignatureBackend } from './internal/nativeSecp256k1.js'
import { recoverSigner } from './internal/recoverSigner.js'
import { isSignedBy } from './internal/signTyped.js'
import { signatureBackend } from './signatureBackend.js'

/** secp256k1 group order and field prime. */
const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const p = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn
const halfN = n >> 1n
const top = 1n << 255n

const word = (value: bigint) => value.toString(16).padStart(64, '0')
const hex32 = (value: bigint) => `0x${word(value)}`
const byteHex = (value: number) => value.toString(16).padStart(2, '0')
const rsv = (r: bigint, s: bigint, v: number) => `0x${word(r)}${word(s)}${byteHex(v)}`

/** The reference: `isSignedBy` as it was, on ethers' `recoverAddress` alone. */
function ethersSigner(digest: string, signature: string): string | null {
  try {
    return recoverAddress(digest, signature).toLowerCase()
  } catch {
    return null
  }
}

function ethersIsSignedBy(digest: string, signature: unknown, expected: string): boolean {
  if (typeof signature !== 'string') return false
  try {
    return recoverAddress(digest, signature).toLowerCase() === expected.toLowerCase()
  } catch {
    return false
  }
}

/** The active backend agrees with ethers on the recovered signer and on `isSignedBy`. */
function expectAgreement(digest: string, signature: string, expected: string): void {
  const reference = ethersSigner(digest, signature)
  expect(recoverSigner(digest, signature), `${digest} ${signature}`).toBe(reference)
  expect(isSignedBy(digest as `0x${string}`, signature, expected)).toBe(
    ethersIsSignedBy(digest, signature, expected),
  )
}

const scalar = fc.bigInt({ min: 1n, max: n - 1n })
const digestArbitrary = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(hex32)
const signedArbitrary = fc
  .record({ key: scalar, digest: digestArbitrary })
  .map(({ key, digest }) => {
    const signingKey = new SigningKey(hex32(key))
    const signature = signingKey.sign(digest)
    return {
      digest,
      address: recoverAddress(digest, signature).toLowerCase(),
      r: BigInt(signature.r),
      s: BigInt(signature.s),
      yParity: signature.yParity as number,
      serialized: signature.serialized,
      compact: signature.compactSerialized,
    }
  })

/** Every way to write or spoil one valid signature that the property below checks. */
const variantArbitrary = fc.oneof(
  fc.constant({ kind: 'as signed' as const }),
  fc.record({ kind: fc.constant('v' as const), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('v named' as const),
    v: fc.constantFrom(0, 1, 27, 28, 2, 26, 29, 34, 35, 36, 37, 38, 255),
  }),
  fc.constant({ kind: 'parity flipped' as const }),
  fc.constant({ kind: 'high s' as const }),
  fc.constant({ kind: 'compact' as const }),
  fc.constant({ kind: 'upper case' as const }),
  fc.record({
    kind: fc.constant('flipped byte' as const),
    index: fc.integer({ min: 0, max: 64 }),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant('length' as const), bytes: fc.integer({ min: 0, max: 70 }) }),
  fc.record({
    kind: fc.constant('not hex' as const),
    index: fc.integer({ min: 0, max: 131 }),
    char: fc.constantFrom('g', 'z', ' ', 'x', '-', '\u00e9'),
  }),
  fc.constant({ kind: 'no prefix' as const }),
  fc.constant({ kind: 'odd length' as const }),
)

type Signed = typeof signedArbitrary extends fc.Arbitrary<infer T> ? T : never
type Variant = typeof variantArbitrary extends fc.Arbitrary<infer T> ? T : never

function applyVariant(signed: Signed, variant: Variant): string {
  const { r, s, yParity, serialized } = signed
  switch (variant.kind) {
    case 'as signed':
      return serialized
    case 'v':
    case 'v named':
      return rsv(r, s, variant.v)
    case 'parity flipped':
      return rsv(r, s, 28 - yParity)
    case 'high s':
      // The malleable twin: ethers refuses it (s >= 2^255 is "non-canonical s").
      return rsv(r, n - s, 28 - yParity)
    case 'compact':
      return signed.compact
    case 'upper case':
      return `0X${serialized.slice(2).toUpperCase()}`
    case 'flipped byte': {
      const bytes = Buffer.from(serialized.slice(2), 'hex')
      bytes[variant.index] = bytes[variant.index]! ^ variant.mask
      return `0x${bytes.toString('hex')}`
    }
    case 'length':
      return `0x${serialized
        .slice(2)
        .padEnd(140, 'ab')
        .slice(0, variant.bytes * 2)}`
    case 'not hex':
      return `${serialized.slice(0, variant.index)}${variant.char}${serialized.slice(variant.index + 1)}`
    case 'no prefix':
      return serialized.slice(2)
    case 'odd length':
      return `${serialized}0`
  }
}

// Property tests of hundreds of ethers signatures each: seconds of CPU, more on a loaded
// machine. The time limit only guards against a hang; nothing here measures speed.
const PROPERTY_TIMEOUT_MS = 60_000

describe('native signature recovery', () => {
  afterEach(() => {
    delete process.env.RMA_SECP256K1
    reloadSignatureBackend()
  })

  test('the native binding loads here (else the properties below only test ethers)', () => {
    expect(signatureBackend()).toBe('native')
  })

  test(
    'agrees with ethers on signed digests and every variant of their signatures',
    () => {
      expect(signatureBackend()).toBe('native')
      fc.assert(
        fc.property(signedArbitrary, variantArbitrary, (signed, variant) => {
          const signature = applyVariant(signed, variant)
          expectAgreement(signed.digest, signature, signed.address)
          if (variant.kind === 'as signed' || variant.kind === 'compact')
            expect(isSignedBy(signed.digest as `0x${string}`, signature, signed.address)).toBe(true)
          if (variant.kind === 'high s') {
            expect(n - signed.s >= top).toBe(true)
            expect(isSignedBy(signed.digest as `0x${string}`, signature, signed.address)).toBe(
              false,
            )
          }
        }),
        { numRuns: 600 },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  test(
    'agrees with ethers on arbitrary r, s and v',
    () => {
      const below = (max: bigint) => fc.bigInt({ min: 0n, max: max - 1n })
      const rArbitrary = fc.oneof(
        below(n),
        below(1n << 256n),
        fc.constantFrom(0n, 1n, n - 1n, n, n + 1n, p - 1n, p, (1n << 256n) - 1n),
      )
      const sArbitrary = fc.oneof(
        below(n),
        // Above n/2 but top bit clear: not low-s, yet ethers (and so this) recovers.
        fc.bigInt({ min: halfN + 1n, max: top - 1n }),
        fc.constantFrom(0n, 1n, halfN, halfN + 1n, top - 1n, top, n - 1n, n, (1n << 256n) - 1n),
      )
      const vArbitrary = fc.oneof(fc.constantFrom(0, 1, 27, 28), fc.integer({ min: 0, max: 255 }))
      fc.assert(
        fc.property(digestArbitrary, rArbitrary, sArbitrary, vArbitrary, (digest, r, s, v) => {
          expectAgreement(digest, rsv(r, s, v), '0x0000000000000000000000000000000000000000')
          expectAgreement(
            digest,
            `0x${word(r)}${word(s)}`,
            '0x0000000000000000000000000000000000000000',
          )
        }),
        { numRuns: 500 },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  test(
    'a key at infinity (s·R = h·G) fails on both',
    () => {
      fc.assert(
        fc.property(scalar, fc.bigInt({ min: 1n, max: top - 1n }), (k, s) => {
          // R = k·G with the parity of its y; Q = r⁻¹(s·R − h·G) is infinity for h = s·k.
          const point = new SigningKey(hex32(k)).publicKey
          const r = BigInt(`0x${point.slice(4, 68)}`)
          const parity = Number(BigInt(`0x${point.slice(-2)}`) & 1n)
          const digest = hex32((s * k) % n)
          const signature = rsv(r, s, 27 + parity)
          expectAgreement(digest, signature, '0x0000000000000000000000000000000000000000')
          expect(recoverSigner(digest, signature)).toBe(null)
        }),
        { numRuns: 100 },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  test('odd inputs: digests that are not 32 bytes, non-string signatures and addresses', () => {
    const key = new SigningKey(hex32(7n))
    const digest = hex32(123456789n)
    const signature = key.sign(digest).serialized
    const address = recoverAddress(digest, signature).toLowerCase()
    for (const odd of [digest.slice(0, -2), `${digest}00`, digest.toUpperCase(), '0x', ''])
      expectAgreement(odd, signature, address)
    for (const sig of [undefined, null, 42, {}, key.sign(digest)])
      expect(isSignedBy(digest as `0x${string}`, sig, address)).toBe(false)
    // Any case of the expected address; never another address or a non-string.
    const expectations = [
      address.toUpperCase(),
      `0x${address.slice(2).toUpperCase()}`,
      `${address}00`,
    ]
    for (const expected of expectations)
      expect(isSignedBy(digest as `0x${string}`, signature, expected)).toBe(
        ethersIsSignedBy(digest, signature, expected),
      )
    expect(isSignedBy(digest as `0x${string}`, signature, address.toUpperCase())).toBe(true)
    expect(isSignedBy(digest as `0x${string}`, signature, undefined as unknown as string)).toBe(
      false,
    )
  })

  test(
    'RMA_SECP256K1=js falls back to ethers with the same results',
    () => {
      process.env.RMA_SECP256K1 = 'js'
      reloadSignatureBackend()
      expect(signatureBackend()).toBe('js')
      const samples = fc.sample(fc.tuple(signedArbitrary, variantArbitrary), {
        numRuns: 200,
        seed: 42,
      })
      const results = (backend: 'js' | 'native') => {
        if (backend === 'js') process.env.RMA_SECP256K1 = 'js'
        else delete process.env.RMA_SECP256K1
        reloadSignatureBackend()
        expect(signatureBackend()).toBe(backend)
        return samples.map(([signed, variant]) => {
          const signature = applyVariant(signed, variant)
          return [
            recoverSigner(signed.digest, signature),
            isSignedBy(signed.digest as `0x${string}`, signature, signed.address),
          ]
        })
      }
      const js = results('js')
      expect(js).toEqual(results('native'))
      expect(js).toEqual(
        samples.map(([signed, variant]) => {
          const signature = applyVariant(signed, variant)
          return [
            ethersSigner(signed.digest, signature),
            ethersIsSignedBy(signed.digest, signature, signed.address),
          ]
        }),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
