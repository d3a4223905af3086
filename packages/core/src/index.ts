export { allocateProRata } from './allocateProRata.js'
export type { CoreErrorType } from './CoreErrorType.js'
export { canonicalPath } from './canonicalPath.js'
export { chainKey } from './chainKey.js'
export {
  createFrameBoundaryScanner,
  type FrameBoundaryScanner,
} from './createFrameBoundaryScanner.js'
export {
  type AmountInput,
  type CreatePriceTableParameters,
  createPriceTable,
  type ModelPrice,
  type ModelPriceInput,
  type PriceTable,
  type PriceVersion,
  type PriceVersionInput,
} from './createPriceTable.js'
export { createPriceTableRoots, type PriceTableRoots } from './createPriceTableRoots.js'
export {
  type CreatePriceTableTreeParameters,
  createPriceTableTree,
  type PriceTableTree,
  priceEntryLeaf,
} from './createPriceTableTree.js'
export { createSseParser, type SseEvent, type SseParser } from './createSseParser.js'
export {
  type CreateStreamObserverOptions,
  createStreamObserver,
  maxObservedTextLength,
  type StreamObservation,
  type StreamObserver,
} from './createStreamObserver.js'
export {
  decodeAck,
  decodeAttestation,
  decodeReceipt,
  encodeAck,
  encodeAttestation,
  encodeReceipt,
} from './encoding.js'
export { type Endpoint, endpointOf } from './endpointOf.js'
export {
  BaseError,
  type BaseErrorParameters,
  CumulativeAmountMismatchError,
  DuplicateLeafError,
  EmptyTreeError,
  InvalidAllocationError,
  InvalidEncodingError,
  InvalidFieldError,
  InvalidPriceTableError,
  InvalidSharesError,
  InvalidUsageError,
  LeafNotFoundError,
  SignerMismatchError,
  UnknownModelError,
} from './errors.js'
export {
  assertCumulativeAmount,
  expectedCumulativeAmount,
} from './expectedCumulativeAmount.js'
export {
  type FindFraudParameters,
  type Fraud,
  type FraudPriceTable,
  findFraud,
  fraudKinds,
} from './findFraud.js'
export { hashAck } from './hashAck.js'
export { hashAttestation } from './hashAttestation.js'
export { type HashBackend, hashBackend, readyHashBackend } from './hashBackend.js'
export { hashBatch } from './hashBatch.js'
export { type BytesHasher, createBytesHasher, hashBytes } from './hashBytes.js'
export { hashReceipt } from './hashReceipt.js'
export { zeroHash } from './internal/bytes.js'
export {
  createRebateTree,
  createReceiptsTree,
  type MerkleTree,
  type RebateEntry,
  rebateLeaf,
  receiptLeaf,
  verifyMerkleProof,
} from './merkleTree.js'
export { meteredEndpointOf } from './meteredEndpointOf.js'
export { type AnthropicUsage, parseAnthropicUsage } from './parseAnthropicUsage.js'
export { parseOpenAIUsage } from './parseOpenAIUsage.js'
export { type PriceCallParameters, type PriceCallReturnType, priceCall } from './priceCall.js'
export { type PriceEntry, priceEntryOf } from './priceEntryOf.js'
export { priceTableVersionAt } from './priceTableVersionAt.js'
export { checkUsage, priceTokens, priceUsage, resolveModelPrice } from './priceUsage.js'
export type {
  AppendReceiptParameters,
  BatchRecord,
  BatchStatus,
  ChainHead,
  ChainRef,
  ChainSummary,
  ClaimNonceParameters,
  ListReceiptsParameters,
  ReceiptStore,
  ReserveParameters,
  ReserveReturnType,
  StoredReceipt,
} from './ReceiptStore.js'
export { type ReadResponseUsageReturnType, readResponseUsage } from './readResponseUsage.js'
export { type SignAckParameters, signAck } from './signAck.js'
export { type SignAttestationParameters, signAttestation } from './signAttestation.js'
export { type SignatureBackend, signatureBackend } from './signatureBackend.js'
export {
  type SignReceiptParameters,
  type SignReceiptReturnType,
  signReceipt,
} from './signReceipt.js'
export {
  assertShares,
  BPS,
  type RevenueShares,
  type RevenueSplit,
  splitRevenue,
} from './splitRevenue.js'
export {
  batchSchema,
  createDomain,
  domainSchema,
  eip712Type,
  type FieldKind,
  receiptAckSchema,
  requestAttestationSchema,
  type StructField,
  type StructSchema,
  typedDataTypes,
  typedDataValue,
  usageReceiptSchema,
  usageSources,
} from './typedData.js'
export type {
  Address,
  Batch,
  Hex,
  ReceiptAck,
  RequestAttestation,
  RmaDomain,
  Signed,
  SignedReceiptAck,
  SignedRequestAttestation,
  SignedUsageReceipt,
  Usage,
  UsageReceipt,
  UsageSource,
} from './types.js'
export { verifyAck } from './verifyAck.js'
export { verifyAttestation } from './verifyAttestation.js'
export { type VerifyReceiptParameters, verifyReceipt } from './verifyReceipt.js'
export {
  type ChainAnchor,
  type ChainIssue,
  type ReceiptChain,
  type VerifyReceiptChainOptions,
  type VerifyReceiptChainReturnType,
  verifyReceiptChain,
} from './verifyReceiptChain.js'
