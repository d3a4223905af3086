export {
  type BatchFile,
  type BatchFileExpectation,
  batchFileName,
  batchFilePath,
  epochRebateTree,
  parseBatchFile,
  type RebateLine,
  readBatchFile,
  serializeBatchFile,
  writeBatchFile,
} from './batchFile.js'
export { type BuildBatchParameters, type BuildBatchReturnType, buildBatch } from './buildBatch.js'
export {
  type ClaimRebatesParameters,
  type ClaimRebatesReturnType,
  claimRebates,
} from './claimRebates.js'
export {
  type CommitPriceTableParameters,
  type CommitPriceTableReturnType,
  commitPriceTable,
  priceTableAbi,
  readPriceTableCommitment,
} from './commitPriceTable.js'
export { createBatchFileHandler } from './createBatchFileHandler.js'
export {
  createPrepaidRound,
  type PrepaidIdleResult,
  type PrepaidRoundContext,
  type PrepaidSettleResult,
  type SkippedVoucher,
  type VoucherSkipReason,
} from './createPrepaidRound.js'
export {
  createRebateProver,
  type RebateClaim,
  type RebateProof,
  type RebateProver,
  type RebateProverOptions,
} from './createRebateProver.js'
export {
  createSettlementClient,
  type SettlementClient,
  type SettlementClientOptions,
} from './createSettlementClient.js'
export {
  createSettler,
  type SettleResult,
  type Settler,
  type SettlerEvents,
  type SettlerOptions,
} from './createSettler.js'
export { decodeRevert } from './decodeRevert.js'
export { type EnsureAllowanceParameters, ensureAllowance } from './ensureAllowance.js'
export {
  type EnsureDepositParameters,
  type EnsureDepositReturnType,
  ensureDeposit,
} from './ensureDeposit.js'
export {
  BatchChainMismatchError,
  BatchFileError,
  type DecodedRevert,
  EpochPendingError,
  InvalidBatchReceiptsError,
  InvalidSettlementOptionsError,
  NothingToClaimError,
  ProofIndexError,
  RpcUnavailableError,
  SettlementError,
  type SettlementErrorCode,
  type SettlementErrorParameters,
  SettleRefusedError,
  TransactionDroppedError,
  TransactionRevertedError,
  UnknownAssetError,
} from './errors.js'
export {
  createProofIndex,
  type ProofIndex,
  proofIndexPath,
  readProofIndex,
  writeProofIndex,
} from './proofIndex.js'
export { type AssetState, readAsset } from './readAsset.js'
export {
  type AssetRisk,
  type Payouts,
  type PendingPayouts,
  type ReadPayoutsOptions,
  type RolePayout,
  readPayouts,
  type SupporterRisk,
} from './readPayouts.js'
export { type PendingBatch, readPendingBatches } from './readPendingBatches.js'
export { readRecordedBatch } from './readRecordedBatch.js'
export {
  type ReleaseDueBatchesParameters,
  type ReleaseDueBatchesReturnType,
  releaseDueBatches,
} from './releaseDueBatches.js'
export { resolveBatchBaseUri } from './resolveBatchBaseUri.js'
export type { SettlementErrorType } from './SettlementErrorType.js'
export { sendClaim } from './sendClaim.js'
export { isTransient, type RetryOptions, withRetry } from './withRetry.js'
