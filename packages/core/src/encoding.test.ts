import { keccak256, toUtf8Bytes, Wallet } from 'ethers'
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  decodeAck,
  decodeAttestation,
  decodeReceipt,
  encodeAck,
  encodeAttestation,
  encodeReceipt,
} from './encoding.js'
import { InvalidEncodingError, InvalidFieldError } from './errors.js'
import { hashReceipt } from './hashReceipt.js'
import { zeroHash } from './internal/bytes.js'
import { signAck } from './signAck.js'
import { signAttestation } from './signAttestation.js'
import { signReceipt } from './signReceipt.js'
import { thrown } from './testing/thrown.js'
import {
  createDomain,
  receiptAckSchema,
  requestAttestationSchema,
  type StructSchema,
  usageReceiptSchema,
  usageSources,
} from './typedData.js'
import type {
  Address,
  Hex,
  RequestAttestation,
  SignedReceiptAck,
  SignedRequestAttestation,
  SignedUsageReceipt,
  UsageReceipt,
} from './types.js'
import { verifyAck } from './verifyAck.js'
import { verifyAttestation } from './verifyAttestation.js'
import { verifyReceipt } from './verifyReceipt.js'

function expectInvalidEncoding(fn: () => unknown, message: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidEncodingError)
  expect(error).toMatchObject({ name: 'InvalidEncodingError', code: 'INVALID_ENCODING', message })
}

/** What a decoder returns for `value`: hex fields (and the signature) in lowercase. */
function lowercased<T extends object>(schema: StructSchema, value: T): T {
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const { name, kind } of schema.fields)
    if (kind === 'bytes32' || kind === 'address') out[name] = (out[name] as string).toLowerCase()
  out.signature = (out.signature as string).toLowerCase()
  return out as T
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const fromBase64url = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'))

// An independent writer of the documented layout (docs/protocol.md, "Wire encoding"), used to
// check the encoder and to build malformed inputs field by field.
const hexBytes = (hex: string) => Buffer.from(hex.slice(2), 'hex')
const u64 = (value: number | bigint) => {
  const out = Buffer.alloc(8)
  out.writeBigUInt64BE(BigInt(value))
  return out
}
const u256 = (value: bigint) => {
  if (value === 0n) return Buffer.of(0)
  const hex = value.toString(16)
  const digits = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
  return Buffer.concat([Buffer.of(digits.length), digits])
}
const str = (value: string) => {
  const text = Buffer.from(value, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(text.length)
  return Buffer.concat([length, text])
}

type ReceiptPart = keyof SignedUsageReceipt | 'tag'
function receiptParts(r: SignedUsageReceipt): [ReceiptPart, Uint8Array][] {
  return [
    ['tag', Buffer.of(6)],
    ['assetId', hexBytes(r.assetId)],
    ['meter', hexBytes(r.meter)],
    ['user', hexBytes(r.user)],
    ['seq', u64(r.seq)],
    ['prev', hexBytes(r.prev)],
    ['requestHash', hexBytes(r.requestHash)],
    ['responseHash', hexBytes(r.responseHash)],
    ['model', str(r.model)],
    ['inputTokens', u64(r.inputTokens)],
    ['cachedInputTokens', u64(r.cachedInputTokens)],
    ['cacheWriteTokens', u64(r.cacheWriteTokens)],
    ['outputTokens', u64(r.outputTokens)],
    ['reasoningTokens', u64(r.reasoningTokens)],
    ['usageSource', Buffer.of(usageSources.indexOf(r.usageSource))],
    ['amount', u256(r.amount)],
    ['cumulativeAmount', u256(r.cumulativeAmount)],
    ['priceTable', hexBytes(r.priceTable)],
    ['attestation', hexBytes(r.attestation)],
    ['timestamp', u64(r.timestamp)],
    ['signature', hexBytes(r.signature)],
  ]
}
/** The receipt's bytes with some parts replaced by raw bytes. */
function receiptBytes(
  r: SignedUsageReceipt,
  replace: Partial<Record<ReceiptPart, Uint8Array | number[]>> = {},
) {
  return Buffer.concat(
    receiptParts(r).map(([name, bytes]) => Uint8Array.from(replace[name] ?? bytes)),
  )
}

const domain = createDomain({
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
})
const meter = Wallet.createRandom()
const user = Wallet.createRandom()
const hashOf = (text: string) => keccak256(toUtf8Bytes(text)) as Hex

const receipt: UsageReceipt = {
  assetId: hashOf('asset: gpt-4o reseller'),
  meter: meter.address as Address,
  user: user.address as Address,
  seq: 1,
  prev: zeroHash,
  requestHash: hashOf('{"model":"gpt-4o","messages":[]}'),
  responseHash: hashOf('{"id":"chatcmpl-1"}'),
  model: 'gpt-4o-2024-08-06',
  inputTokens: 1200,
  cachedInputTokens: 1024,
  cacheWriteTokens: 0,
  outputTokens: 300,
  reasoningTokens: 192,
  usageSource: 'reported',
  amount: 4720n,
  cumulativeAmount: 4720n,
  priceTable: hashOf('price table root'),
  attestation: hashOf('attestation digest'),
  timestamp: 1_760_000_000,
}
const attestation: RequestAttestation = {
  assetId: receipt.assetId,
  user: user.address as Address,
  requestHash: receipt.requestHash,
  nonce: 0xdeadbeefn,
  expiry: 1_760_000_060,
  maxAmount: 10n ** 18n,
}

let signedReceipt: SignedUsageReceipt
let signedAttestation: SignedRequestAttestation
let signedAck: SignedReceiptAck

beforeAll(async () => {
  signedReceipt = await signReceipt({ receipt, signer: meter, domain })
  signedAttestation = await signAttestation({ attestation, signer: user, domain })
  signedAck = await signAck({
    ack: {
      assetId: receipt.assetId,
      user: user.address as Address,
      meter: meter.address as Address,
      seq: 1,
      receiptHash: hashReceipt(signedReceipt, domain),
      cumulativeAmount: 4720n,
    },
    signer: user,
    domain,
  })
})

describe('round trip of signed objects', () => {
  test('receipt: decoded values equal the inputs (hex lowercase) and still verify', () => {
    const header = encodeReceipt(signedReceipt)
    const decoded = decodeReceipt(header)
    expect(decoded).toEqual(lowercased(usageReceiptSchema, signedReceipt))
    expect(decoded.meter).toBe(meter.address.toLowerCase())
    expect(verifyReceipt({ receipt: decoded, domain })).toBe(true)
    expect(encodeReceipt(decoded)).toBe(header)
  })

  test('attestation: decoded values equal the inputs and still verify', () => {
    const header = encodeAttestation(signedAttestation)
    const decoded = decodeAttestation(header)
    expect(decoded).toEqual(lowercased(requestAttestationSchema, signedAttestation))
    expect(verifyAttestation({ attestation: decoded, domain })).toBe(true)
    expect(encodeAttestation(decoded)).toBe(header)
  })

  test('ack: decoded values equal the inputs and still verify', () => {
    const header = encodeAck(signedAck)
    const decoded = decodeAck(header)
    expect(decoded).toEqual(lowercased(receiptAckSchema, signedAck))
    expect(verifyAck({ ack: decoded, domain })).toBe(true)
    expect(encodeAck(decoded)).toBe(header)
  })

  test('the receipt encoding is exactly the documented layout', () => {
    expect(fromBase64url(encodeReceipt(signedReceipt))).toEqual(
      new Uint8Array(receiptBytes(signedReceipt)),
    )
    expect(encodeReceipt(signedReceipt)).toMatch(/^[A-Za-z0-9_-]+$/)
  })

  test('headers stay compact', () => {
    const receiptHeader = encodeReceipt(signedReceipt)
    // 1 + 32 + 20 + 20 + 8 + 3 × 32 + (2 + 17) + 5 × 8 + 1 + 2 × (1 + 2) + 2 × 32 + 8 + 65
    // = 380 bytes
    expect(fromBase64url(receiptHeader)).toHaveLength(380)
    expect(receiptHeader).toHaveLength(507)
    expect(receiptHeader.length).toBeLessThan(550)
    console.log(`typical rma-receipt header: ${receiptHeader.length} characters`)
    // the largest receipt (256-byte model, 32-byte amount) is far below the decoder's limit
    const largest = encodeReceipt({
      ...signedReceipt,
      model: 'm'.repeat(256),
      amount: (1n << 256n) - 1n,
      cumulativeAmount: (1n << 256n) - 1n,
      seq: Number.MAX_SAFE_INTEGER,
    })
    expect(largest).toHaveLength(906)
    expect(decodeReceipt(largest).model).toBe('m'.repeat(256))
    // 1 + 32 + 20 + 32 + (1 + 4) + 8 + (1 + 8) + 65 = 172 bytes
    expect(encodeAttestation(signedAttestation)).toHaveLength(230)
    // 1 + 32 + 20 + 20 + 8 + 32 + (1 + 2) + 65 = 181 bytes
    expect(encodeAck(signedAck)).toHaveLength(242)
  })

  test('usage sources, zero and maximal amounts', () => {
    for (const usageSource of usageSources)
      for (const amount of [0n, 1n, 255n, 256n, (1n << 256n) - 1n]) {
        const value = { ...signedReceipt, usageSource, amount }
        expect(decodeReceipt(encodeReceipt(value))).toEqual(lowercased(usageReceiptSchema, value))
      }
  })

  test('model names: empty, exactly 256 UTF-8 bytes, and a leading byte-order mark', () => {
    for (const model of [
      '',
      'é'.repeat(128),
      '😀'.repeat(64),
      'a'.repeat(256),
      '\uFEFFgpt-4o',
      '\uFEFF',
    ]) {
      const value = { ...signedReceipt, model }
      expect(decodeReceipt(encodeReceipt(value)).model).toBe(model)
    }
  })
})

// Random field values for the property tests. The signature is random bytes: encoding does not
// check signatures, and signing thousands of objects would only slow the test down.
const hexOf = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
const mixedCase = (hex: fc.Arbitrary<Hex>) =>
  fc
    .tuple(hex, fc.boolean())
    .map(([h, upper]) => (upper ? (`0x${h.slice(2).toUpperCase()}` as Hex) : h))
const bytes32 = mixedCase(hexOf(32))
const address = mixedCase(hexOf(20))
const signature = hexOf(65)
const uint64 = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.constant(Number.MAX_SAFE_INTEGER),
)
const uint256 = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  fc.constant((1n << 256n) - 1n),
)
/** Any Unicode text (no lone surrogates) of at most 64 code points, so at most 256 UTF-8 bytes. */
const model = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 63 }).map((s) => `\uFEFF${s}`), // a leading byte-order mark
  fc.string({ unit: 'grapheme', maxLength: 64 }).filter((s) => Buffer.byteLength(s) <= 256),
  fc
    .string({ unit: 'binary-ascii', minLength: 256, maxLength: 256 })
    .filter((s) => Buffer.byteLength(s) <= 256),
)

const receiptArbitrary: fc.Arbitrary<SignedUsageReceipt> = fc.record({
  assetId: bytes32,
  meter: address,
  user: address,
  seq: uint64,
  prev: bytes32,
  requestHash: bytes32,
  responseHash: bytes32,
  model,
  inputTokens: uint64,
  cachedInputTokens: uint64,
  cacheWriteTokens: uint64,
  outputTokens: uint64,
  reasoningTokens: uint64,
  usageSource: fc.constantFrom(...usageSources),
  amount: uint256,
  cumulativeAmount: uint256,
  priceTable: bytes32,
  attestation: bytes32,
  timestamp: uint64,
  signature,
})
const attestationArbitrary: fc.Arbitrary<SignedRequestAttestation> = fc.record({
  assetId: bytes32,
  user: address,
  requestHash: bytes32,
  nonce: uint256,
  expiry: uint64,
  maxAmount: uint256,
  signature,
})
const ackArbitrary: fc.Arbitrary<SignedReceiptAck> = fc.record({
  assetId: bytes32,
  user: address,
  meter: address,
  seq: uint64,
  receiptHash: bytes32,
  cumulativeAmount: uint256,
  signature,
})

describe('round trip properties', () => {
  test('receipts', () => {
    fc.assert(
      fc.property(receiptArbitrary, (value) => {
        const header = encodeReceipt(value)
        expect(header.length).toBeLessThanOrEqual(906)
        expect(decodeReceipt(header)).toEqual(lowercased(usageReceiptSchema, value))
      }),
      { numRuns: 1000 },
    )
  })

  test('attestations', () => {
    fc.assert(
      fc.property(attestationArbitrary, (value) => {
        expect(decodeAttestation(encodeAttestation(value))).toEqual(
          lowercased(requestAttestationSchema, value),
        )
      }),
      { numRuns: 1000 },
    )
  })

  test('acks', () => {
    fc.assert(
      fc.property(ackArbitrary, (value) => {
        expect(decodeAck(encodeAck(value))).toEqual(lowercased(receiptAckSchema, value))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('decoding untrusted input', () => {
  const notEncoded = 'UsageReceipt encoding must be a non-empty string.'

  test('a non-string or an empty string', () => {
    for (const input of [undefined, null, 42, {}, [], Buffer.from('AQ'), ''])
      expectInvalidEncoding(() => decodeReceipt(input), notEncoded)
    expectInvalidEncoding(
      () => decodeAttestation(null),
      'RequestAttestation encoding must be a non-empty string.',
    )
    expectInvalidEncoding(() => decodeAck(7), 'ReceiptAck encoding must be a non-empty string.')
  })

  test('more than 2048 characters, before any decoding work', () => {
    expectInvalidEncoding(
      () => decodeReceipt(`${encodeReceipt(signedReceipt)}${'A'.repeat(2048)}`),
      `UsageReceipt encoding is too long.\n\nDetails: At most 2048 characters are accepted, received ${507 + 2048}.`,
    )
    expectInvalidEncoding(
      () => decodeReceipt('A'.repeat(2049)),
      'UsageReceipt encoding is too long.\n\nDetails: At most 2048 characters are accepted, received 2049.',
    )
    // exactly 2048 characters passes the length check and fails later, on the tag
    expectInvalidEncoding(
      () => decodeReceipt('A'.repeat(2048)),
      'Not an encoded UsageReceipt.\n\nDetails: Expected tag 6, found 0.',
    )
  })

  test('characters outside base64url', () => {
    const header = encodeReceipt(signedReceipt)
    for (const input of [
      `${header}=`,
      header.replace(/[-_]/, '+'),
      `${header.slice(0, 100)}/${header.slice(101)}`,
      ` ${header}`,
      `${header}\n`,
      `${header.slice(0, 10)}é${header.slice(11)}`,
      '====',
    ])
      expectInvalidEncoding(() => decodeReceipt(input), 'UsageReceipt encoding is not base64url.')
  })

  test('a wrong tag: another object type', () => {
    expectInvalidEncoding(
      () => decodeReceipt(encodeAttestation(signedAttestation)),
      'Not an encoded UsageReceipt.\n\nDetails: Expected tag 6, found 2.',
    )
    expectInvalidEncoding(
      () => decodeReceipt(encodeAck(signedAck)),
      'Not an encoded UsageReceipt.\n\nDetails: Expected tag 6, found 5.',
    )
    // a receipt in the previous layout (tag 4, before cacheWriteTokens, priceTable, attestation)
    expectInvalidEncoding(
      () => decodeReceipt(base64url(receiptBytes(signedReceipt, { tag: [4] }))),
      'Not an encoded UsageReceipt.\n\nDetails: Expected tag 6, found 4.',
    )
    expectInvalidEncoding(
      () => decodeAttestation(encodeReceipt(signedReceipt)),
      'Not an encoded RequestAttestation.\n\nDetails: Expected tag 2, found 6.',
    )
    expectInvalidEncoding(
      () => decodeAck(encodeAttestation(signedAttestation)),
      'Not an encoded ReceiptAck.\n\nDetails: Expected tag 5, found 2.',
    )
  })

  test('truncated at every byte position', () => {
    for (const [encode, decode, type] of [
      [() => encodeReceipt(signedReceipt), decodeReceipt, 'UsageReceipt'],
      [() => encodeAttestation(signedAttestation), decodeAttestation, 'RequestAttestation'],
      [() => encodeAck(signedAck), decodeAck, 'ReceiptAck'],
    ] as const) {
      const bytes = fromBase64url(encode())
      expectInvalidEncoding(
        () => decode(base64url(bytes.subarray(0, 0))),
        `${type} encoding must be a non-empty string.`,
      )
      for (let length = 1; length < bytes.length; length++) {
        const error = thrown(() => decode(base64url(bytes.subarray(0, length))))
        expect(error).toBeInstanceOf(InvalidEncodingError)
        expect((error as InvalidEncodingError).shortMessage).toBe(`${type} encoding is truncated.`)
      }
    }
    expectInvalidEncoding(
      () => decodeReceipt(base64url(fromBase64url(encodeReceipt(signedReceipt)).subarray(0, 20))),
      'UsageReceipt encoding is truncated.\n\nDetails: Field "assetId" needs 32 more bytes.',
    )
  })

  test('trailing bytes after the signature', () => {
    const bytes = fromBase64url(encodeReceipt(signedReceipt))
    expectInvalidEncoding(
      () => decodeReceipt(base64url(Buffer.concat([bytes, Buffer.of(0)]))),
      'UsageReceipt encoding has trailing bytes.\n\nDetails: 1 bytes after the signature.',
    )
    expectInvalidEncoding(
      () => decodeReceipt(base64url(Buffer.concat([bytes, Buffer.alloc(65)]))),
      'UsageReceipt encoding has trailing bytes.\n\nDetails: 65 bytes after the signature.',
    )
  })

  test('non-canonical base64url: a dangling character or non-zero spare bits', () => {
    const canonical =
      'UsageReceipt encoding is not canonical base64url.\n\nDetails: Spare bits must be zero and no character may be left over.'
    // 381 bytes are 508 characters: one more character carries no whole byte, and common
    // base64url decoders (Buffer among them) silently drop it
    const aligned = encodeReceipt({ ...signedReceipt, model: 'gpt-4o-2024-08-06x' })
    expect(aligned).toHaveLength(508)
    expect(Buffer.from(`${aligned}A`, 'base64url')).toEqual(Buffer.from(aligned, 'base64url'))
    expectInvalidEncoding(() => decodeReceipt(`${aligned}A`), canonical)
    expectInvalidEncoding(() => decodeReceipt(`${aligned}w`), canonical)
    // 380 bytes are 507 characters whose last one has 2 spare bits: setting one keeps the bytes
    const header = encodeReceipt(signedReceipt)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const spareBitSet = header.slice(0, -1) + alphabet[alphabet.indexOf(header.at(-1)!) + 1]
    expect(Buffer.from(spareBitSet, 'base64url')).toEqual(Buffer.from(header, 'base64url'))
    expectInvalidEncoding(() => decodeReceipt(spareBitSet), canonical)
    // the canonical forms decode
    expect(decodeReceipt(aligned).model).toBe('gpt-4o-2024-08-06x')
    expect(decodeReceipt(header).model).toBe('gpt-4o-2024-08-06')
  })

  test('a uint64 above 2^53 - 1', () => {
    expectInvalidEncoding(
      () => decodeReceipt(base64url(receiptBytes(signedReceipt, { seq: u64(2n ** 53n) }))),
      'UsageReceipt field "seq" is invalid.\n\nDetails: The value exceeds 2^53 - 1.',
    )
    expectInvalidEncoding(
      () =>
        decodeReceipt(base64url(receiptBytes(signedReceipt, { timestamp: u64(2n ** 64n - 1n) }))),
      'UsageReceipt field "timestamp" is invalid.\n\nDetails: The value exceeds 2^53 - 1.',
    )
    // 2^53 - 1 itself is accepted
    const max = decodeReceipt(
      base64url(receiptBytes(signedReceipt, { inputTokens: u64(2n ** 53n - 1n) })),
    )
    expect(max.inputTokens).toBe(Number.MAX_SAFE_INTEGER)
  })

  test('a non-minimal or over-long uint256', () => {
    expectInvalidEncoding(
      () => decodeReceipt(base64url(receiptBytes(signedReceipt, { amount: [3, 0, 0x12, 0x70] }))),
      'UsageReceipt field "amount" is invalid.\n\nDetails: A uint256 must be minimally encoded.',
    )
    expectInvalidEncoding(
      () => decodeReceipt(base64url(receiptBytes(signedReceipt, { amount: [1, 0] }))),
      'UsageReceipt field "amount" is invalid.\n\nDetails: A uint256 must be minimally encoded.',
    )
    expectInvalidEncoding(
      () =>
        decodeReceipt(
          base64url(receiptBytes(signedReceipt, { amount: [33, ...new Array(33).fill(1)] })),
        ),
      'UsageReceipt field "amount" is invalid.\n\nDetails: A uint256 has at most 32 bytes, found 33.',
    )
    expectInvalidEncoding(
      () => decodeReceipt(base64url(receiptBytes(signedReceipt, { amount: [255] }))),
      'UsageReceipt field "amount" is invalid.\n\nDetails: A uint256 has at most 32 bytes, found 255.',
    )
    // the minimal encoding of the same amount (4720 = 0x1270) is accepted
    const minimal = decodeReceipt(
      base64url(receiptBytes(signedReceipt, { amount: [2, 0x12, 0x70] })),
    )
    expect(minimal.amount).toBe(4720n)
  })

  test('invalid UTF-8 or an over-long model', () => {
    for (const bytes of [
      [0, 2, 0xff, 0xfe], // never valid in UTF-8
      [0, 2, 0xc3, 0x28], // broken two-byte sequence
      [0, 2, 0xc0, 0xaf], // overlong encoding of '/'
      [0, 3, 0xed, 0xa0, 0x80], // an encoded surrogate
      [0, 1, 0xe2], // sequence cut by the length
    ])
      expectInvalidEncoding(
        () => decodeReceipt(base64url(receiptBytes(signedReceipt, { model: bytes }))),
        'UsageReceipt field "model" is invalid.\n\nDetails: The string is not valid UTF-8.',
      )
    expectInvalidEncoding(
      () =>
        decodeReceipt(
          base64url(receiptBytes(signedReceipt, { model: [1, 1, ...new Array(257).fill(0x61)] })),
        ),
      'UsageReceipt field "model" is invalid.\n\nDetails: A string has at most 256 bytes.',
    )
  })

  test('an unknown usage source code', () => {
    for (const code of [3, 255])
      expectInvalidEncoding(
        () => decodeReceipt(base64url(receiptBytes(signedReceipt, { usageSource: [code] }))),
        `UsageReceipt field "usageSource" is invalid.\n\nDetails: Unknown usage source code ${code}.`,
      )
  })

  test('fuzz: random strings either decode or throw InvalidEncodingError', () => {
    const alphabet = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary', maxLength: 600 }),
          fc.string({ unit: alphabet, minLength: 300, maxLength: 800 }),
        ),
        (input) => {
          for (const [decode, encode] of [
            [decodeReceipt, encodeReceipt],
            [decodeAttestation, encodeAttestation],
            [decodeAck, encodeAck],
          ] as const) {
            let decoded: ReturnType<typeof decode>
            try {
              decoded = decode(input)
            } catch (error) {
              expect(error).toBeInstanceOf(InvalidEncodingError)
              continue
            }
            expect((encode as (value: typeof decoded) => string)(decoded)).toBe(input)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('fuzz: random bytes, and valid receipts with random bytes changed, decode or throw InvalidEncodingError; what decodes re-encodes to the same string', () => {
    const valid = fromBase64url(encodeReceipt(signedReceipt))
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: valid.length + 10 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .chain((edits) =>
        fc.constantFrom('set', 'insert', 'delete').map((how) => {
          const bytes = [...valid]
          for (const [at, byte] of edits) {
            const i = Math.min(at, bytes.length)
            if (how === 'set') bytes[i] = byte
            else if (how === 'insert') bytes.splice(i, 0, byte)
            else bytes.splice(i, 1)
          }
          return Uint8Array.from(bytes)
        }),
      )
    const random = fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      fc.uint8Array({ minLength: 200, maxLength: 700 }).map((b) => Uint8Array.from([1, ...b])),
    )
    fc.assert(
      fc.property(fc.oneof(mutated, random), (bytes) => {
        const input = base64url(bytes)
        let decoded: SignedUsageReceipt
        try {
          decoded = decodeReceipt(input)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidEncodingError)
          return
        }
        expect(encodeReceipt(decoded)).toBe(input)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('encoding invalid objects', () => {
  function expectInvalidField(fn: () => unknown, field: string, message: string) {
    const error = thrown(fn)
    expect(error).toBeInstanceOf(InvalidFieldError)
    expect(error).toMatchObject({
      name: 'InvalidFieldError',
      code: 'INVALID_FIELD',
      field,
      message,
    })
  }

  test('bad hex', () => {
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, assetId: '0x1234' }),
      'assetId',
      'Invalid value for field "assetId": expected 0x-prefixed hex of 32 bytes.\n\nDetails: Received string "0x1234".',
    )
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, meter: `0x${'zz'.repeat(20)}` }),
      'meter',
      `Invalid value for field "meter": expected 0x-prefixed hex of 20 bytes.\n\nDetails: Received string "0x${'zz'.repeat(20)}".`,
    )
    expectInvalidField(
      () => encodeAck({ ...signedAck, receiptHash: 'ab'.repeat(33) as Hex }),
      'receiptHash',
      `Invalid value for field "receiptHash": expected 0x-prefixed hex of 32 bytes.\n\nDetails: Received string "${'ab'.repeat(33)}".`,
    )
    expectInvalidField(
      () => encodeAttestation({ ...signedAttestation, signature: '0x1234' }),
      'signature',
      'Invalid value for field "signature": expected hex of 65 bytes.\n\nDetails: Received string "0x1234".',
    )
  })

  test('out-of-range numbers', () => {
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, amount: -1n }),
      'amount',
      'Invalid value for field "amount": expected a bigint in [0, 2^256).\n\nDetails: Received bigint -1.',
    )
    expectInvalidField(
      () => encodeAttestation({ ...signedAttestation, maxAmount: 1n << 256n }),
      'maxAmount',
      `Invalid value for field "maxAmount": expected a bigint in [0, 2^256).\n\nDetails: Received bigint ${1n << 256n}.`,
    )
    expectInvalidField(
      () => encodeAttestation({ ...signedAttestation, nonce: 5 as unknown as bigint }),
      'nonce',
      'Invalid value for field "nonce": expected a bigint in [0, 2^256).\n\nDetails: Received number 5.',
    )
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, seq: 2 ** 53 }),
      'seq',
      'Invalid value for field "seq": expected a non-negative safe integer.\n\nDetails: Received number 9007199254740992.',
    )
    expectInvalidField(
      () => encodeAck({ ...signedAck, seq: -1 }),
      'seq',
      'Invalid value for field "seq": expected a non-negative safe integer.\n\nDetails: Received number -1.',
    )
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, inputTokens: 1.5 }),
      'inputTokens',
      'Invalid value for field "inputTokens": expected a non-negative safe integer.\n\nDetails: Received number 1.5.',
    )
  })

  test('a model above 256 UTF-8 bytes', () => {
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, model: 'a'.repeat(257) }),
      'model',
      `Invalid value for field "model": expected a well-formed Unicode string of at most 256 UTF-8 bytes.\n\nDetails: Received string "${'a'.repeat(80)}…".`,
    )
    // 129 two-byte characters: 129 characters but 258 bytes
    expect(() => encodeReceipt({ ...signedReceipt, model: 'é'.repeat(129) })).toThrow(
      InvalidFieldError,
    )
    expect(() => encodeReceipt({ ...signedReceipt, model: 42 as unknown as string })).toThrow(
      InvalidFieldError,
    )
    // a lone surrogate has no UTF-8 form
    expect(() => encodeReceipt({ ...signedReceipt, model: 'gpt\ud800' })).toThrow(InvalidFieldError)
  })

  test('an unknown usage source', () => {
    expectInvalidField(
      () => encodeReceipt({ ...signedReceipt, usageSource: 'guessed' as 'reported' }),
      'usageSource',
      'Invalid value for field "usageSource": expected one of reported, estimated, partial.\n\nDetails: Received string "guessed".',
    )
  })
})
