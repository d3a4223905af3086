import { Signature } from 'ethers'
import type { Voucher } from './types.js'

/** A signed `ReceiptAck` as the settler holds it: the fields a voucher needs and the signature. */
export type VoucherAck = {
  meter: string
  user: string
  seq: number | bigint
  receiptHash: string
  cumulativeAmount: bigint
  /** The user's 65-byte signature (r ‖ s ‖ v) of the ack's EIP-712 hash. */
  signature: string
}

/**
 * The `settlePrepaid` voucher of a user's signed ack: the same fields, the signature in EIP-2098
 * compact form (`r`, and `vs` = `s` with the y-parity in its top bit). A signature that is not
 * 65 valid bytes throws; a high-`s` one is normalised by ethers (the contract rejects high `s`).
 *
 * @example
 * const voucher = toVoucher(await store.latestAck({ assetId, meter, user }))
 * await settlement.settlePrepaid(assetId, [voucher])
 */
export function toVoucher(ack: VoucherAck): Voucher {
  const signature = Signature.from(ack.signature)
  return {
    meter: ack.meter,
    user: ack.user,
    seq: BigInt(ack.seq),
    receiptHash: ack.receiptHash,
    cumulativeAmount: ack.cumulativeAmount,
    r: signature.r,
    vs: signature.yParityAndS,
  }
}
