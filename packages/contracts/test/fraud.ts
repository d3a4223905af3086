// Helpers of the fraud-proof tests: receipts and attestations signed with ethers' EIP-712
// signer (the brief's UsageReceipt type, independent of @rma/core), and a sorted-pair Merkle
// tree of price entries (OpenZeppelin StandardMerkleTree leaves).
import {
  AbiCoder,
  concat,
  hexlify,
  keccak256,
  randomBytes,
  type TypedDataDomain,
  TypedDataEncoder,
  type Wallet,
} from 'ethers'
import type { AttestationStruct } from '../src/toAttestationStruct.js'
import type { PriceEntryStruct } from '../src/toPriceEntryStruct.js'
import type { ReceiptStruct } from '../src/toReceiptStruct.js'

export const receiptTypes = {
  UsageReceipt: [
    { name: 'assetId', type: 'bytes32' },
    { name: 'meter', type: 'address' },
    { name: 'user', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'prev', type: 'bytes32' },
    { name: 'requestHash', type: 'bytes32' },
    { name: 'responseHash', type: 'bytes32' },
    { name: 'model', type: 'string' },
    { name: 'inputTokens', type: 'uint64' },
    { name: 'cachedInputTokens', type: 'uint64' },
    { name: 'cacheWriteTokens', type: 'uint64' },
    { name: 'outputTokens', type: 'uint64' },
    { name: 'reasoningTokens', type: 'uint64' },
    { name: 'usageSource', type: 'uint8' },
    { name: 'amount', type: 'uint256' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'priceTable', type: 'bytes32' },
    { name: 'attestation', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
  ],
}

export const attestationTypes = {
  RequestAttestation: [
    { name: 'assetId', type: 'bytes32' },
    { name: 'user', type: 'address' },
    { name: 'requestHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
    { name: 'maxAmount', type: 'uint256' },
  ],
}

export const zero32 = `0x${'00'.repeat(32)}` as const

export function domainOf(verifyingContract: string, chainId = 31337n): TypedDataDomain {
  return { name: 'RMA', version: '1', chainId, verifyingContract }
}

export function receiptDigest(domain: TypedDataDomain, r: ReceiptStruct): string {
  return TypedDataEncoder.hash(domain, receiptTypes, r)
}

export function attestationDigest(domain: TypedDataDomain, a: AttestationStruct): string {
  return TypedDataEncoder.hash(domain, attestationTypes, a)
}

export function signReceiptStruct(
  signer: Wallet,
  domain: TypedDataDomain,
  r: ReceiptStruct,
): Promise<string> {
  return signer.signTypedData(domain, receiptTypes, r)
}

export function signAttestationStruct(
  signer: Wallet,
  domain: TypedDataDomain,
  a: AttestationStruct,
): Promise<string> {
  return signer.signTypedData(domain, attestationTypes, a)
}

const random32 = () => hexlify(randomBytes(32)) as `0x${string}`

/** A receipt of `meter` for `user` with plausible fields; `overrides` win. */
export function makeReceipt(
  fields: Pick<ReceiptStruct, 'assetId' | 'meter' | 'user' | 'timestamp'> & Partial<ReceiptStruct>,
): ReceiptStruct {
  return {
    seq: 1n,
    prev: zero32,
    requestHash: random32(),
    responseHash: random32(),
    model: 'gpt-4o-mini',
    inputTokens: 1_000n,
    cachedInputTokens: 0n,
    cacheWriteTokens: 0n,
    outputTokens: 500n,
    reasoningTokens: 0n,
    usageSource: 0,
    amount: 100n,
    cumulativeAmount: 100n,
    priceTable: zero32,
    attestation: zero32,
    ...fields,
  }
}

/** The StandardMerkleTree leaf of a price entry. */
export function priceLeaf(e: PriceEntryStruct): string {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ['string', 'uint256', 'uint256', 'uint256', 'uint256', 'uint256'],
    [e.model, e.input, e.cachedInput, e.cacheWrite, e.output, e.reasoning],
  )
  return keccak256(keccak256(encoded))
}

const hashPair = (a: string, b: string) =>
  keccak256(BigInt(a) < BigInt(b) ? concat([a, b]) : concat([b, a]))

/** A sorted-pair Merkle tree of price entries: its root and each entry's proof. */
export function priceTree(entries: readonly PriceEntryStruct[]) {
  const leaves = entries.map(priceLeaf)
  const layers: string[][] = [leaves]
  while (layers[layers.length - 1]!.length > 1) {
    const below = layers[layers.length - 1]!
    const above: string[] = []
    for (let i = 0; i < below.length; i += 2) {
      above.push(i + 1 < below.length ? hashPair(below[i]!, below[i + 1]!) : below[i]!)
    }
    layers.push(above)
  }
  const root = layers[layers.length - 1]![0]!
  const proofOf = (index: number): string[] => {
    const proof: string[] = []
    let i = index
    for (const layer of layers.slice(0, -1)) {
      const sibling = i ^ 1
      if (sibling < layer.length) proof.push(layer[sibling]!)
      i >>= 1
    }
    return proof
  }
  return { root, proofOf }
}

/** The price rule of the brief (core `priceTokens`), for expected values. */
export function priceOf(e: PriceEntryStruct, r: ReceiptStruct): bigint {
  const micro =
    (r.inputTokens - r.cachedInputTokens - r.cacheWriteTokens) * e.input +
    r.cachedInputTokens * e.cachedInput +
    r.cacheWriteTokens * e.cacheWrite +
    (r.outputTokens - r.reasoningTokens) * e.output +
    r.reasoningTokens * e.reasoning
  return (micro + 999_999n) / 1_000_000n
}
