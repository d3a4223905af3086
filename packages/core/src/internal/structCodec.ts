import { InvalidEncodingError, InvalidFieldError } from '../errors.js'
import type { FieldKind, StructSchema } from '../typedData.js'
import { usageSources } from '../typedData.js'
import type { Signed } from '../types.js'
import { MAX_UINT256, readUint, toHex, writeHex, writeUint } from './bytes.js'
import { fieldExpectations } from './hashStruct.js'

/** Longest header value accepted before any decoding work: bounds memory and CPU per request. */
export const MAX_ENCODED_LENGTH = 2048
const MAX_STRING_BYTES = 256
const SIGNATURE_BYTES = 65
const base64url = /^[A-Za-z0-9_-]+$/
const utf8 = new TextEncoder()
// ignoreBOM keeps a leading U+FEFF in the model: stripping it would change the signed string
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Compact binary form of a signed object, base64url without padding:
 * tag byte ‖ fields in schema order ‖ 65-byte signature. Fixed widths for bytes32 (32),
 * address (20), uint64 (8, big-endian), usageSource (1); uint256 as a length byte and its
 * minimal big-endian bytes; strings as a 2-byte length and UTF-8 (at most 256 bytes).
 */
export function encodeStruct(schema: StructSchema, tag: number, value: Signed<object>): string {
  const record = value as Record<string, unknown>
  const parts: Uint8Array[] = [Uint8Array.of(tag)]
  for (const { name, kind } of schema.fields) {
    const part = encodeField(kind, record[name])
    if (!part)
      throw new InvalidFieldError({ field: name, expected: expected(kind), value: record[name] })
    parts.push(part)
  }
  const signature = new Uint8Array(SIGNATURE_BYTES)
  if (!writeHex(signature, 0, value.signature, SIGNATURE_BYTES))
    throw new InvalidFieldError({
      field: 'signature',
      expected: 'hex of 65 bytes',
      value: value.signature,
    })
  parts.push(signature)
  return Buffer.concat(parts).toString('base64url')
}

/** Decodes and validates untrusted input; every failure is an {@link InvalidEncodingError}. */
export function decodeStruct<T extends object>(
  schema: StructSchema,
  tag: number,
  input: unknown,
): Signed<T> {
  if (typeof input !== 'string' || input.length === 0)
    throw new InvalidEncodingError({
      shortMessage: `${schema.primaryType} encoding must be a non-empty string.`,
    })
  if (input.length > MAX_ENCODED_LENGTH)
    throw new InvalidEncodingError({
      shortMessage: `${schema.primaryType} encoding is too long.`,
      details: `At most ${MAX_ENCODED_LENGTH} characters are accepted, received ${input.length}.`,
    })
  if (!base64url.test(input))
    throw new InvalidEncodingError({
      shortMessage: `${schema.primaryType} encoding is not base64url.`,
    })
  const decoded = Buffer.from(input, 'base64url')
  // Buffer ignores a dangling last character and non-zero spare bits: without this check,
  // several header values would decode to the same object.
  if (decoded.toString('base64url') !== input)
    throw new InvalidEncodingError({
      shortMessage: `${schema.primaryType} encoding is not canonical base64url.`,
      details: 'Spare bits must be zero and no character may be left over.',
    })
  const bytes = new Uint8Array(decoded)
  if (bytes[0] !== tag)
    throw new InvalidEncodingError({
      shortMessage: `Not an encoded ${schema.primaryType}.`,
      details: `Expected tag ${tag}, found ${bytes[0]}.`,
    })
  const reader = { bytes, offset: 1, name: '' }
  const out: Record<string, unknown> = {}
  for (const { name, kind } of schema.fields) {
    reader.name = name
    out[name] = decodeField(reader, kind, schema.primaryType)
  }
  reader.name = 'signature'
  out.signature = toHex(take(reader, SIGNATURE_BYTES, schema.primaryType))
  if (reader.offset !== bytes.length)
    throw new InvalidEncodingError({
      shortMessage: `${schema.primaryType} encoding has trailing bytes.`,
      details: `${bytes.length - reader.offset} bytes after the signature.`,
    })
  return out as Signed<T>
}

function encodeField(kind: FieldKind, v: unknown): Uint8Array | undefined {
  switch (kind) {
    case 'bytes32':
    case 'address': {
      const out = new Uint8Array(kind === 'bytes32' ? 32 : 20)
      return writeHex(out, 0, v, out.length) ? out : undefined
    }
    case 'uint64': {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined
      const out = new Uint8Array(8)
      writeUint(out, 0, v, 8)
      return out
    }
    case 'uint256': {
      if (typeof v !== 'bigint' || v < 0n || v > MAX_UINT256) return undefined
      const hex = v === 0n ? '' : v.toString(16)
      const digits = hex.length % 2 ? `0${hex}` : hex
      return Uint8Array.from([digits.length / 2, ...Buffer.from(digits, 'hex')])
    }
    case 'string': {
      if (typeof v !== 'string' || !v.isWellFormed()) return undefined
      const text = utf8.encode(v)
      if (text.length > MAX_STRING_BYTES) return undefined
      const out = new Uint8Array(2 + text.length)
      writeUint(out, 0, text.length, 2)
      out.set(text, 2)
      return out
    }
    case 'usageSource': {
      const code = usageSources.indexOf(v as never)
      return code < 0 ? undefined : Uint8Array.of(code)
    }
  }
}

type Reader = { bytes: Uint8Array; offset: number; name: string }

function take(reader: Reader, size: number, type: string): Uint8Array {
  if (reader.offset + size > reader.bytes.length)
    throw new InvalidEncodingError({
      shortMessage: `${type} encoding is truncated.`,
      details: `Field "${reader.name}" needs ${size} more bytes.`,
    })
  const out = reader.bytes.subarray(reader.offset, reader.offset + size)
  reader.offset += size
  return out
}

function decodeField(reader: Reader, kind: FieldKind, type: string): unknown {
  const invalid = (why: string) =>
    new InvalidEncodingError({
      shortMessage: `${type} field "${reader.name}" is invalid.`,
      details: why,
    })
  switch (kind) {
    case 'bytes32':
      return toHex(take(reader, 32, type))
    case 'address':
      return toHex(take(reader, 20, type))
    case 'uint64': {
      const value = readUint(take(reader, 8, type), 0, 8)
      if (!Number.isSafeInteger(value)) throw invalid('The value exceeds 2^53 - 1.')
      return value
    }
    case 'uint256': {
      const length = take(reader, 1, type)[0]!
      if (length > 32) throw invalid(`A uint256 has at most 32 bytes, found ${length}.`)
      const digits = take(reader, length, type)
      if (length > 0 && digits[0] === 0) throw invalid('A uint256 must be minimally encoded.')
      return length === 0 ? 0n : BigInt(toHex(digits))
    }
    case 'string': {
      const length = readUint(take(reader, 2, type), 0, 2)
      if (length > MAX_STRING_BYTES)
        throw invalid(`A string has at most ${MAX_STRING_BYTES} bytes.`)
      try {
        return strictUtf8.decode(take(reader, length, type))
      } catch (error) {
        if (error instanceof InvalidEncodingError) throw error
        throw invalid('The string is not valid UTF-8.')
      }
    }
    case 'usageSource': {
      const code = take(reader, 1, type)[0]!
      const source = usageSources[code]
      if (source === undefined) throw invalid(`Unknown usage source code ${code}.`)
      return source
    }
  }
}

function expected(kind: FieldKind): string {
  const base = fieldExpectations[kind]
  return kind === 'string' ? `${base} of at most ${MAX_STRING_BYTES} UTF-8 bytes` : base
}
