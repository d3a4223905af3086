import { domainSchema, type StructSchema } from '../typedData.js'
import type { Hex, RmaDomain } from '../types.js'
import { createStructHasher } from './hashStruct.js'
import { keccakHex } from './keccak.js'

const hashDomainStruct = createStructHasher(domainSchema)
const separators = new WeakMap<RmaDomain, Uint8Array>()
const digestInput = new Uint8Array(66)
digestInput[0] = 0x19
digestInput[1] = 0x01

/** The EIP-712 domain separator, computed once per domain object. */
export function domainSeparator(domain: RmaDomain): Uint8Array {
  let separator = separators.get(domain)
  if (separator === undefined) {
    separator = hashDomainStruct(domain)
    separators.set(domain, separator)
  }
  return separator
}

/**
 * Compiles a schema into `hashTypedData(domain, value)`:
 * keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(value)), as 0x-hex.
 */
export function createTypedDataHasher(
  schema: StructSchema,
): (domain: RmaDomain, value: object) => Hex {
  const hashStruct = createStructHasher(schema)
  return (domain, value) => {
    digestInput.set(domainSeparator(domain), 2)
    digestInput.set(hashStruct(value), 34)
    return keccakHex(digestInput)
  }
}
