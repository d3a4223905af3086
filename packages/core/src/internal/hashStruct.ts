import { InvalidFieldError } from '../errors.js'
import { eip712Type, type StructSchema, usageSources } from '../typedData.js'
import { MAX_UINT256, writeHex, writeUint } from './bytes.js'
import { keccak } from './keccak.js'

const utf8 = new TextEncoder()
const stringHashes = new Map<string, Uint8Array>()

/** keccak256 of a string's UTF-8 bytes, memoised: model names and URIs repeat. */
function hashString(value: string): Uint8Array {
  let hash = stringHashes.get(value)
  if (hash === undefined) {
    hash = keccak(utf8.encode(value))
    if (stringHashes.size >= 4096) stringHashes.clear()
    stringHashes.set(value, hash)
  }
  return hash
}

/** The EIP-712 `encodeType` of a schema without referenced structs. */
export function encodeType(schema: StructSchema): string {
  const fields = schema.fields.map((f) => `${eip712Type(f.kind)} ${f.name}`)
  return `${schema.primaryType}(${fields.join(',')})`
}

/**
 * Compiles a schema into a hasher of EIP-712 `hashStruct(value)`: the type hash is computed
 * once and each field is written at a fixed offset of one reused buffer, then hashed with a
 * single keccak256. No generic encoder runs per call.
 */
export function createStructHasher(schema: StructSchema): (value: object) => Uint8Array {
  const buffer = new Uint8Array(32 * (schema.fields.length + 1))
  buffer.set(keccak(utf8.encode(encodeType(schema))), 0)
  const fields = schema.fields
  return (value) => {
    const record = value as Record<string, unknown>
    for (let i = 0; i < fields.length; i++) {
      const { name, kind } = fields[i]!
      const v = record[name]
      const offset = 32 * (i + 1)
      if (!writeField(buffer, offset, kind, v))
        throw new InvalidFieldError({ field: name, expected: fieldExpectations[kind], value: v })
    }
    return keccak(buffer)
  }
}

/** What each field kind accepts, as error messages say it. */
export const fieldExpectations = {
  bytes32: '0x-prefixed hex of 32 bytes',
  address: '0x-prefixed hex of 20 bytes',
  uint64: 'a non-negative safe integer',
  uint256: 'a bigint in [0, 2^256)',
  string: 'a well-formed Unicode string',
  usageSource: `one of ${usageSources.join(', ')}`,
} as const

function writeField(
  buffer: Uint8Array,
  offset: number,
  kind: keyof typeof fieldExpectations,
  v: unknown,
): boolean {
  switch (kind) {
    case 'bytes32':
      return writeHex(buffer, offset, v, 32)
    case 'address':
      buffer.fill(0, offset, offset + 12)
      return writeHex(buffer, offset + 12, v, 20)
    case 'uint64':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return false
      buffer.fill(0, offset, offset + 24)
      writeUint(buffer, offset + 24, v, 8)
      return true
    case 'uint256':
      if (typeof v !== 'bigint' || v < 0n || v > MAX_UINT256) return false
      return writeHex(buffer, offset, `0x${v.toString(16).padStart(64, '0')}`, 32)
    case 'string':
      // A lone surrogate has no UTF-8 form: it would be hashed as U+FFFD and decode differently.
      if (typeof v !== 'string' || !v.isWellFormed()) return false
      buffer.set(hashString(v), offset)
      return true
    case 'usageSource': {
      const code = usageSources.indexOf(v as never)
      if (code < 0) return false
      buffer.fill(0, offset, offset + 31)
      buffer[offset + 31] = code
      return true
    }
  }
}
