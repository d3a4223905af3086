import { BaseError, type BaseErrorParameters } from '@rma/core'

export type AuditErrorCode =
  | 'INVALID_OPTIONS'
  | 'RPC_UNREACHABLE'
  | 'RPC_TIMEOUT'
  | 'RPC_ERROR'
  | 'WRONG_CHAIN'
  | 'NO_CONTRACT'
  | 'NOT_SETTLEMENT'
  | 'UNKNOWN_ASSET'
  | 'BATCH_MISSING'
  | 'BATCH_UNAVAILABLE'
  | 'BATCH_TIMEOUT'
  | 'BATCH_TOO_LARGE'
  | 'BATCH_TRUNCATED'
  | 'BATCH_HASH_MISMATCH'
  | 'BATCH_INVALID'
  | 'UNSUPPORTED_URI'
  | 'INVALID_LEDGER'
  | 'ABORTED'

/**
 * The family of every failure of `@rma/audit`: one subclass per `code`, each taking one object
 * whose `shortMessage` is one sentence that names the cause and what to change (the CLI prints
 * it as is), the original `cause` kept.
 *
 * @example
 * try { await auditAsset({ rpcUrl, contract, assetId }) } catch (e) {
 *   if (e instanceof AuditError) { console.error(e.shortMessage); process.exitCode = 2 }
 * }
 */
export abstract class AuditError extends BaseError {
  override name = 'AuditError'
  declare readonly code: AuditErrorCode

  protected constructor(
    code: AuditErrorCode,
    { shortMessage, details, cause }: BaseErrorParameters,
  ) {
    super(shortMessage, { code, details, cause })
  }
}

/** An option of the audit is missing or malformed. */
export class InvalidAuditOptionsError extends AuditError {
  override name = 'InvalidAuditOptionsError'
  declare readonly code: 'INVALID_OPTIONS'
  constructor(parameters: BaseErrorParameters) {
    super('INVALID_OPTIONS', parameters)
  }
}

/** The RPC did not answer. */
export class RpcUnreachableError extends AuditError {
  override name = 'RpcUnreachableError'
  declare readonly code: 'RPC_UNREACHABLE'
  constructor(parameters: BaseErrorParameters) {
    super('RPC_UNREACHABLE', parameters)
  }
}

/** The RPC did not answer within the timeout. */
export class RpcTimeoutError extends AuditError {
  override name = 'RpcTimeoutError'
  declare readonly code: 'RPC_TIMEOUT'
  constructor(parameters: BaseErrorParameters) {
    super('RPC_TIMEOUT', parameters)
  }
}

/** The RPC answered with an error, something other than JSON, or no result. */
export class RpcFailedError extends AuditError {
  override name = 'RpcFailedError'
  declare readonly code: 'RPC_ERROR'
  constructor(parameters: BaseErrorParameters) {
    super('RPC_ERROR', parameters)
  }
}

/** The RPC serves another chain than the one asked for. */
export class WrongChainError extends AuditError {
  override name = 'WrongChainError'
  declare readonly code: 'WRONG_CHAIN'
  constructor(parameters: BaseErrorParameters) {
    super('WRONG_CHAIN', parameters)
  }
}

/** There is no contract at the address given. */
export class NoContractError extends AuditError {
  override name = 'NoContractError'
  declare readonly code: 'NO_CONTRACT'
  constructor(parameters: BaseErrorParameters) {
    super('NO_CONTRACT', parameters)
  }
}

/** The contract at the address given is not an RMA settlement contract. */
export class NotSettlementContractError extends AuditError {
  override name = 'NotSettlementContractError'
  declare readonly code: 'NOT_SETTLEMENT'
  constructor(parameters: BaseErrorParameters) {
    super('NOT_SETTLEMENT', parameters)
  }
}

/** The asset is not registered on the settlement contract. */
export class UnregisteredAssetError extends AuditError {
  override name = 'UnregisteredAssetError'
  declare readonly code: 'UNKNOWN_ASSET'
  constructor(parameters: BaseErrorParameters) {
    super('UNKNOWN_ASSET', parameters)
  }
}

/** A batch file is not where its URI points. */
export class BatchMissingError extends AuditError {
  override name = 'BatchMissingError'
  declare readonly code: 'BATCH_MISSING'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_MISSING', parameters)
  }
}

/** The host of a batch file did not answer. */
export class BatchUnavailableError extends AuditError {
  override name = 'BatchUnavailableError'
  declare readonly code: 'BATCH_UNAVAILABLE'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_UNAVAILABLE', parameters)
  }
}

/** The host of a batch file did not answer within the timeout. */
export class BatchTimeoutError extends AuditError {
  override name = 'BatchTimeoutError'
  declare readonly code: 'BATCH_TIMEOUT'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_TIMEOUT', parameters)
  }
}

/** A batch file is larger than the audit accepts. */
export class BatchTooLargeError extends AuditError {
  override name = 'BatchTooLargeError'
  declare readonly code: 'BATCH_TOO_LARGE'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_TOO_LARGE', parameters)
  }
}

/** A batch file ended before its declared length. */
export class BatchTruncatedError extends AuditError {
  override name = 'BatchTruncatedError'
  declare readonly code: 'BATCH_TRUNCATED'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_TRUNCATED', parameters)
  }
}

/** A batch file does not hash to the batch hash committed on chain: it changed after settlement. */
export class BatchHashMismatchError extends AuditError {
  override name = 'BatchHashMismatchError'
  declare readonly code: 'BATCH_HASH_MISMATCH'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_HASH_MISMATCH', parameters)
  }
}

/** A batch file is not a valid batch file, or is the file of another batch. */
export class InvalidBatchError extends AuditError {
  override name = 'InvalidBatchError'
  declare readonly code: 'BATCH_INVALID'
  constructor(parameters: BaseErrorParameters) {
    super('BATCH_INVALID', parameters)
  }
}

/** A batch URI has a scheme the audit cannot fetch. */
export class UnsupportedUriError extends AuditError {
  override name = 'UnsupportedUriError'
  declare readonly code: 'UNSUPPORTED_URI'
  constructor(parameters: BaseErrorParameters) {
    super('UNSUPPORTED_URI', parameters)
  }
}

/** A client ledger given to the audit is malformed. */
export class InvalidLedgerError extends AuditError {
  override name = 'InvalidLedgerError'
  declare readonly code: 'INVALID_LEDGER'
  constructor(parameters: BaseErrorParameters) {
    super('INVALID_LEDGER', parameters)
  }
}

/** The audit was aborted through its signal. */
export class AuditAbortedError extends AuditError {
  override name = 'AuditAbortedError'
  declare readonly code: 'ABORTED'
  constructor(parameters: BaseErrorParameters) {
    super('ABORTED', parameters)
  }
}
