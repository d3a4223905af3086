import { createTypedDataHasher } from './internal/typedDataHash.js'
import { batchSchema } from './typedData.js'
import type { Batch, Hex, RmaDomain } from './types.js'

const hash = createTypedDataHasher(batchSchema)

/**
 * The EIP-712 hash of a settlement batch: what an auditor signs to attest a batch file.
 *
 * @example
 * const digest = hashBatch(batch, domain)
 */
export function hashBatch(batch: Batch, domain: RmaDomain): Hex {
  return hash(domain, batch)
}
