import { getAddress } from 'ethers'
import { MissingLibraryAddressError } from './errors.js'

/** Where creation bytecode holds library address placeholders (solc's `linkReferences`). */
export type LinkReferences = {
  readonly [file: string]: {
    readonly [library: string]: readonly { readonly start: number; readonly length: number }[]
  }
}

/** What `linkBytecode` throws. */
export type LinkBytecodeErrorType = MissingLibraryAddressError

/**
 * Writes each linked library's address over its placeholders in creation bytecode (what
 * solc's linker does), so the bytecode can be deployed. Throws `MISSING_LIBRARY_ADDRESS` for
 * a library `addresses` does not name.
 *
 * @example
 * const bytecode = linkBytecode(rmaSettlementBytecode, rmaSettlementLinkReferences, { RMAPenalty: penaltyAddress })
 */
export function linkBytecode(
  bytecode: `0x${string}`,
  linkReferences: LinkReferences,
  addresses: Readonly<Record<string, string>>,
): `0x${string}` {
  let linked = bytecode.slice(2)
  for (const libraries of Object.values(linkReferences)) {
    for (const [library, references] of Object.entries(libraries)) {
      const address = addresses[library]
      if (!address) {
        throw new MissingLibraryAddressError({ library })
      }
      const hex = getAddress(address).slice(2).toLowerCase()
      for (const { start, length } of references) {
        linked =
          linked.slice(0, start * 2) + hex.slice(0, length * 2) + linked.slice((start + length) * 2)
      }
    }
  }
  return `0x${linked}`
}
