import type { Address, RmaDomain } from './types.js'

/**
 * How a field is represented: its EIP-712 type, and (for `usageSource`) a TS enum carried as
 * `uint8`. One list per object drives the EIP-712 types, the fast hash and the wire encoding,
 * so the three can never disagree.
 */
export type FieldKind = 'bytes32' | 'address' | 'uint64' | 'uint256' | 'string' | 'usageSource'
export type StructField = { readonly name: string; readonly kind: FieldKind }
export type StructSchema = { readonly primaryType: string; readonly fields: readonly StructField[] }

export const requestAttestationSchema = {
  primaryType: 'RequestAttestation',
  fields: [
    { name: 'assetId', kind: 'bytes32' },
    { name: 'user', kind: 'address' },
    { name: 'requestHash', kind: 'bytes32' },
    { name: 'nonce', kind: 'uint256' },
    { name: 'expiry', kind: 'uint64' },
    { name: 'maxAmount', kind: 'uint256' },
  ],
} as const satisfies StructSchema

export const usageReceiptSchema = {
  primaryType: 'UsageReceipt',
  fields: [
    { name: 'assetId', kind: 'bytes32' },
    { name: 'meter', kind: 'address' },
    { name: 'user', kind: 'address' },
    { name: 'seq', kind: 'uint64' },
    { name: 'prev', kind: 'bytes32' },
    { name: 'requestHash', kind: 'bytes32' },
    { name: 'responseHash', kind: 'bytes32' },
    { name: 'model', kind: 'string' },
    { name: 'inputTokens', kind: 'uint64' },
    { name: 'cachedInputTokens', kind: 'uint64' },
    { name: 'cacheWriteTokens', kind: 'uint64' },
    { name: 'outputTokens', kind: 'uint64' },
    { name: 'reasoningTokens', kind: 'uint64' },
    { name: 'usageSource', kind: 'usageSource' },
    { name: 'amount', kind: 'uint256' },
    { name: 'cumulativeAmount', kind: 'uint256' },
    { name: 'priceTable', kind: 'bytes32' },
    { name: 'attestation', kind: 'bytes32' },
    { name: 'timestamp', kind: 'uint64' },
  ],
} as const satisfies StructSchema

export const receiptAckSchema = {
  primaryType: 'ReceiptAck',
  fields: [
    { name: 'assetId', kind: 'bytes32' },
    { name: 'user', kind: 'address' },
    { name: 'meter', kind: 'address' },
    { name: 'seq', kind: 'uint64' },
    { name: 'receiptHash', kind: 'bytes32' },
    { name: 'cumulativeAmount', kind: 'uint256' },
  ],
} as const satisfies StructSchema

export const batchSchema = {
  primaryType: 'Batch',
  fields: [
    { name: 'assetId', kind: 'bytes32' },
    { name: 'epoch', kind: 'uint64' },
    { name: 'revenue', kind: 'uint256' },
    { name: 'receiptCount', kind: 'uint64' },
    { name: 'receiptsRoot', kind: 'bytes32' },
    { name: 'rebateRoot', kind: 'bytes32' },
    { name: 'batchHash', kind: 'bytes32' },
    { name: 'batchUri', kind: 'string' },
  ],
} as const satisfies StructSchema

export const domainSchema = {
  primaryType: 'EIP712Domain',
  fields: [
    { name: 'name', kind: 'string' },
    { name: 'version', kind: 'string' },
    { name: 'chainId', kind: 'uint256' },
    { name: 'verifyingContract', kind: 'address' },
  ],
} as const satisfies StructSchema

/** `usageSource` values in the order of their `uint8` code. */
export const usageSources = ['reported', 'estimated', 'partial'] as const

/** The EIP-712 type of a field kind. */
export function eip712Type(kind: FieldKind): string {
  return kind === 'usageSource' ? 'uint8' : kind
}

/** The `types` argument of ethers' `signTypedData` / viem's `hashTypedData` for a schema. */
export function typedDataTypes(
  schema: StructSchema,
): Record<string, { name: string; type: string }[]> {
  return {
    [schema.primaryType]: schema.fields.map((f) => ({ name: f.name, type: eip712Type(f.kind) })),
  }
}

/**
 * The EIP-712 value of an object: `usageSource` becomes its `uint8` code, everything else as is.
 */
export function typedDataValue(schema: StructSchema, value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of schema.fields) {
    const v = (value as Record<string, unknown>)[f.name]
    out[f.name] = f.kind === 'usageSource' ? usageSources.indexOf(v as never) : v
  }
  return out
}

/**
 * The domain of every RMA object: name "RMA", version "1", the chain id and the settlement
 * contract's address.
 *
 * @example
 * const domain = createDomain({ chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
 */
export function createDomain(parameters: {
  chainId: number | bigint
  verifyingContract: Address
}): RmaDomain {
  return Object.freeze({
    name: 'RMA',
    version: '1',
    chainId: BigInt(parameters.chainId),
    verifyingContract: parameters.verifyingContract,
  })
}
