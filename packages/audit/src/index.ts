export type {
  Amount,
  AssetStatus,
  EpochStatus,
  RoleStatus,
  SplitStatus,
  SupporterStatus,
  UserClaimStatus,
} from './AssetStatus.js'
export type { AuditErrorType } from './AuditErrorType.js'
export type {
  AuditReport,
  Discrepancy,
  DiscrepancyKind,
  EpochAuditStatus,
} from './AuditReport.js'
export { type AuditAssetParameters, auditAsset } from './auditAsset.js'
export {
  type CreateExplorerHandlerOptions,
  createExplorerHandler,
} from './createExplorerHandler.js'
export {
  AuditAbortedError,
  AuditError,
  type AuditErrorCode,
  BatchHashMismatchError,
  BatchMissingError,
  BatchTimeoutError,
  BatchTooLargeError,
  BatchTruncatedError,
  BatchUnavailableError,
  InvalidAuditOptionsError,
  InvalidBatchError,
  InvalidLedgerError,
  NoContractError,
  NotSettlementContractError,
  RpcFailedError,
  RpcTimeoutError,
  RpcUnreachableError,
  UnregisteredAssetError,
  UnsupportedUriError,
  WrongChainError,
} from './errors.js'
export { type FetchBatch, type FetchBatchFileOptions, fetchBatchFile } from './fetchBatchFile.js'
export type { ChainParameters } from './openSettlement.js'
export type { AuditLedger } from './parseLedger.js'
export type { AccountEpoch, AccountView } from './readAccount.js'
export { type ReadAssetStatusParameters, readAssetStatus } from './readAssetStatus.js'
