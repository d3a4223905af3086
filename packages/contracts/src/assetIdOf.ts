import { AbiCoder, keccak256 } from 'ethers'

const coder = AbiCoder.defaultAbiCoder()

/**
 * The id of the asset `issuer` registers with `salt`: `keccak256(abi.encode(issuer, salt))`,
 * as the contract's `assetIdOf` computes it. Ids are namespaced by issuer, so no one else can
 * register (squat) them.
 *
 * @example
 * const assetId = assetIdOf(issuer.address, keccak256(toUtf8Bytes('my-model')))
 */
export function assetIdOf(issuer: string, salt: string): string {
  return keccak256(coder.encode(['address', 'bytes32'], [issuer, salt]))
}
