import { AuditError, type AuditErrorCode } from '@rma/audit'
import { parseSettlementError } from '@rma/contracts'
import { BaseError } from '@rma/core'
import { SettlementError } from '@rma/settlement'
import { CliError, type CliErrorCode } from './CliError.js'

const auditCodes: Partial<Record<AuditErrorCode, CliErrorCode>> = {
  INVALID_OPTIONS: 'USAGE',
  INVALID_LEDGER: 'USAGE',
  RPC_UNREACHABLE: 'UNREACHABLE',
  RPC_TIMEOUT: 'TIMEOUT',
  WRONG_CHAIN: 'WRONG_CHAIN',
  NO_CONTRACT: 'NO_CONTRACT',
  NOT_SETTLEMENT: 'NO_CONTRACT',
  UNKNOWN_ASSET: 'UNKNOWN_ASSET',
  BATCH_UNAVAILABLE: 'UNREACHABLE',
  BATCH_TIMEOUT: 'TIMEOUT',
}

/**
 * Any error as the one line `rma` prints: a revert of the settlement contract (or of a token
 * inside it) decoded by `parseSettlementError`, the settlement client's and the audit's own
 * errors by their short message, ethers' network failures as "unreachable". `names` names
 * accounts in decoded reverts (`{ [settler]: 'the settler' }`).
 *
 * @example
 * catch (error) { const e = toCliError(error); stderr(e.shortMessage); return e.exitCode }
 */
export function toCliError(error: unknown, names: Record<string, string> = {}): CliError {
  if (error instanceof CliError) return error
  const reverted = parseSettlementError(error, { names })
  if (reverted)
    return new CliError({
      code: 'REFUSED',
      shortMessage: `The settlement contract refused: ${reverted.message} (${reverted.name}).`,
      cause: error,
    })
  if (error instanceof AuditError)
    return new CliError({
      code: auditCodes[error.code] ?? 'FAILED',
      shortMessage: error.shortMessage,
      cause: error,
    })
  if (error instanceof SettlementError) {
    if (error.revert)
      return new CliError({
        code: 'REFUSED',
        shortMessage: `The settlement contract refused: ${error.revert.reason} (${error.revert.name}).`,
        cause: error,
      })
    const code: CliErrorCode =
      error.code === 'RPC_UNAVAILABLE'
        ? 'UNREACHABLE'
        : error.code === 'UNKNOWN_ASSET'
          ? 'UNKNOWN_ASSET'
          : error.code === 'INVALID_OPTIONS'
            ? 'USAGE'
            : 'FAILED'
    return new CliError({
      code,
      shortMessage: sentence(error.shortMessage, error.details),
      cause: error,
    })
  }
  const ethersCode = (error as { code?: unknown } | null)?.code
  switch (ethersCode) {
    case 'TIMEOUT':
      return new CliError({
        code: 'TIMEOUT',
        shortMessage:
          'The RPC did not answer in time: check that the node is up and RMA_RPC_URL, or raise --timeout.',
        cause: error,
      })
    case 'NETWORK_ERROR':
    case 'SERVER_ERROR':
      return new CliError({
        code: 'UNREACHABLE',
        shortMessage:
          'The RPC failed to answer: check that the node is up and RMA_RPC_URL points at it.',
        cause: error,
      })
    case 'INSUFFICIENT_FUNDS':
      return new CliError({
        code: 'REFUSED',
        shortMessage:
          "The key's account cannot pay for gas: send it some of the chain's native coin.",
        cause: error,
      })
    case 'NONCE_EXPIRED':
    case 'REPLACEMENT_UNDERPRICED':
      return new CliError({
        code: 'REFUSED',
        shortMessage:
          'Another transaction from this key took its nonce: wait for it to be mined, then run the command again.',
        cause: error,
      })
    case 'CALL_EXCEPTION':
      return new CliError({
        code: 'REFUSED',
        shortMessage:
          'The chain refused the transaction without a reason it could decode: check the contract address and the arguments.',
        cause: error,
      })
  }
  if (error instanceof BaseError)
    return new CliError({
      code: 'FAILED',
      shortMessage: sentence(error.shortMessage, error.details),
      cause: error,
    })
  const message = error instanceof Error ? error.message : String(error)
  return new CliError({
    code: 'FAILED',
    shortMessage: message.split('\n')[0] ?? 'Unknown error.',
    cause: error,
  })
}

function sentence(short: string, details: string | undefined): string {
  return details ? `${short.replace(/\.$/, '')}: ${details}` : short
}
