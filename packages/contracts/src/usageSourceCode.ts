import type { UsageSource } from '@rma/core'
import { UnknownUsageSourceError } from './errors.js'

const codes: Record<UsageSource, number> = { reported: 0, estimated: 1, partial: 2 }

/** The `uint8` code of a usage source in the EIP-712 receipt (reported 0, estimated 1, partial 2). */
export function usageSourceCode(source: UsageSource): number {
  const code = codes[source]
  if (code === undefined) throw new UnknownUsageSourceError({ source })
  return code
}
