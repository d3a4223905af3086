import { type BaseWallet, type TypedDataDomain, TypedDataEncoder } from 'ethers'
import { toVoucher } from '../toVoucher.js'
import type { Voucher } from '../types.js'

/**
 * The EIP-712 type of a user's ack, which is the voucher, spelled out with ethers and
 * independently of `@rma/core`, so the tests check the contract and the core package against
 * the same text.
 */
export const receiptAckTypes = {
  ReceiptAck: [
    { name: 'assetId', type: 'bytes32' },
    { name: 'user', type: 'address' },
    { name: 'meter', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'receiptHash', type: 'bytes32' },
    { name: 'cumulativeAmount', type: 'uint256' },
  ],
}

/** The fields of a `ReceiptAck`. */
export type AckFields = {
  assetId: string
  user: string
  meter: string
  seq: bigint
  receiptHash: string
  cumulativeAmount: bigint
}

/** The RMA domain: name "RMA", version "1", a chain id and the settlement contract. */
export function rmaDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: 'RMA', version: '1', chainId, verifyingContract }
}

/** The EIP-712 digest of an ack (what the contract's `ackDigest` returns). */
export function ackDigestOf(domain: TypedDataDomain, ack: AckFields): string {
  return TypedDataEncoder.hash(domain, receiptAckTypes, ack)
}

/**
 * `signer` acks `ack` under `domain`: the voucher a settler submits to `settlePrepaid`, with
 * the ack's fields and its 65-byte signature alongside. For tests and benchmarks; clients sign
 * acks with `signAck` of `@rma/core`.
 *
 * @example
 * const voucher = await signVoucher(alice, rmaDomain(31337, settlementAddress), { assetId, user: alice.address, meter, seq: 1n, receiptHash, cumulativeAmount: 2_750n })
 */
export async function signVoucher(
  signer: BaseWallet,
  domain: TypedDataDomain,
  ack: AckFields,
): Promise<Voucher & AckFields & { signature: string }> {
  const signature = await signer.signTypedData(domain, receiptAckTypes, ack)
  return { ...toVoucher({ ...ack, signature }), ...ack, signature }
}
