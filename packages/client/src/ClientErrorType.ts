import type {
  AttestationMismatchError,
  ChainMismatchError,
  FraudProofRejectedError,
  InvalidClientOptionsError,
  NothingToProveError,
  PriceMismatchError,
  PriceTableMismatchError,
  PriceTableNotCommittedError,
  ReceiptBindingError,
  ReceiptCheckFailedError,
  ReceiptMalformedError,
  ReceiptMissingError,
  ReceiptSignatureError,
  RequestHashMismatchError,
  ResponseHashMismatchError,
  SpendCapExceededError,
  UnknownCallError,
  UntrustedMeterError,
  UsageMismatchError,
} from './errors.js'

/**
 * Every error `@rma/client` throws on its own account (the `ReceiptError` family of failed
 * receipt checks, and the errors of its options, `getReceipt` and `rma.prove()`), to narrow on
 * `code` (or `name`).
 *
 * @example
 * client.rma.events.on('mismatch', (error: ClientErrorType) => {
 *   if (error.code === 'PRICE_MISMATCH') dispute(error.receiptId)
 * })
 */
export type ClientErrorType =
  | AttestationMismatchError
  | ChainMismatchError
  | FraudProofRejectedError
  | InvalidClientOptionsError
  | NothingToProveError
  | PriceMismatchError
  | PriceTableMismatchError
  | PriceTableNotCommittedError
  | ReceiptBindingError
  | ReceiptCheckFailedError
  | ReceiptMalformedError
  | ReceiptMissingError
  | ReceiptSignatureError
  | RequestHashMismatchError
  | ResponseHashMismatchError
  | SpendCapExceededError
  | UnknownCallError
  | UntrustedMeterError
  | UsageMismatchError
