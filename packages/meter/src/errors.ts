import { BaseError } from '@rma/core'

/** OpenAI's error `type` values, plus the RMA-specific ones this package adds. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'timeout_error'

/** The body of every error response: OpenAI's `{ error: { message, type, code } }` shape. */
export type OpenAIErrorBody = {
  error: {
    message: string
    type: OpenAIErrorType | string
    code: string | null
    param: string | null
  }
}

/**
 * An error that becomes an HTTP response in OpenAI's error JSON shape. The meter answers with
 * it for bad input (no attestation, bad signature, replay, unpriced model), so an OpenAI SDK
 * client raises its usual typed error (`AuthenticationError`, `BadRequestError`, ...).
 *
 * @example
 * throw new MeterError({ status: 401, type: 'authentication_error', code: 'rma_attestation_missing', message: 'Missing rma-attestation header.' })
 */
export class MeterError extends BaseError {
  override name = 'MeterError'
  readonly status: number
  readonly type: OpenAIErrorType
  /** Response headers that go with the answer (`retry-after` of a 429). */
  readonly headers: Readonly<Record<string, string>> | undefined

  constructor(parameters: {
    status: number
    type: OpenAIErrorType
    code: string
    message: string
    details?: string
    cause?: unknown
    headers?: Record<string, string>
  }) {
    super(parameters.message, {
      code: parameters.code,
      details: parameters.details,
      cause: parameters.cause,
    })
    this.status = parameters.status
    this.type = parameters.type
    this.headers = parameters.headers
  }

  /** The OpenAI-shaped JSON body of this error. */
  toJSON(): OpenAIErrorBody {
    const message = this.details ? `${this.shortMessage} ${this.details}` : this.shortMessage
    return { error: { message, type: this.type, code: this.code, param: null } }
  }
}

/**
 * HTTP 402 `rma_insufficient_balance`: a prepaid user's balance does not cover the call. Its
 * JSON adds the figures (decimal strings, base units of `token`) to OpenAI's error object, so a
 * client can show them: `balance` (on chain, minus a withdrawal request), `pending` (charged by
 * receipts, not yet settled), `reserved` (calls in flight), `needed` (this call's `maxAmount`).
 */
export class InsufficientBalanceError extends MeterError {
  override name = 'InsufficientBalanceError'
  readonly token: string
  readonly balance: bigint
  readonly pending: bigint
  readonly reserved: bigint
  readonly needed: bigint

  constructor(parameters: {
    token: string
    balance: bigint
    pending: bigint
    reserved: bigint
    needed: bigint
  }) {
    const { token, balance, pending, reserved, needed } = parameters
    const short = pending + reserved + needed - balance
    super({
      status: 402,
      type: 'invalid_request_error',
      code: 'rma_insufficient_balance',
      message: `Prepaid balance too low: balance ${balance}, pending ${pending} (charged, not yet settled), reserved ${reserved} (calls in flight); this call needs up to ${needed}.`,
      details: `Deposit at least ${short} more of token ${token} (depositFor on the settlement contract), or sign a lower maxAmount.`,
    })
    this.token = token
    this.balance = balance
    this.pending = pending
    this.reserved = reserved
    this.needed = needed
  }

  override toJSON(): OpenAIErrorBody {
    const body = super.toJSON()
    return {
      error: {
        ...body.error,
        token: this.token,
        balance: this.balance.toString(),
        pending: this.pending.toString(),
        reserved: this.reserved.toString(),
        needed: this.needed.toString(),
      } as OpenAIErrorBody['error'],
    }
  }
}

/**
 * Any failure as the {@link MeterError} a client is answered with: a MeterError as it is,
 * anything else a 500 that does not leak its message.
 *
 * @example
 * const answer = toMeterError(error).toJSON()
 */
export function toMeterError(error: unknown): MeterError {
  if (error instanceof MeterError) return error
  return new MeterError({
    status: 500,
    type: 'server_error',
    code: 'rma_internal_error',
    message: 'The meter failed to process the request.',
    cause: error,
  })
}
