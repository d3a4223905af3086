export {
  type AckFields,
  ackDigestOf,
  receiptAckTypes,
  rmaDomain,
  signVoucher,
} from '../src/testing/signVoucher.js'
