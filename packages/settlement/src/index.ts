export {
  type BatchFile,
  batchFilePath,
  type RebateLine,
  readBatchFile,
  serializeBatchFile,
  writeBatchFile,
} from './batchFile.js'
export { type BuildBatchParameters, type BuildBatchReturnType, buildBatch } from './buildBatch.js'
export {
  createSettlementClient,
  type Payouts,
  type RebateProof,
  type RolePayout,
  type SettlementClient,
  type SettlementClientOptions,
  type SettlementEvents,
  type SettleResult,
} from './createSettlementClient.js'
export { SettlementError, type SettlementErrorCode } from './errors.js'
export { type AssetState, readAsset } from './readAsset.js'
export { isTransient, type RetryOptions, withRetry } from './withRetry.js'
