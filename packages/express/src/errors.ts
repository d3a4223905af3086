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

  constructor(parameters: {
    status: number
    type: OpenAIErrorType
    code: string
    message: string
    details?: string
    cause?: unknown
  }) {
    super(parameters.message, {
      code: parameters.code,
      details: parameters.details,
      cause: parameters.cause,
    })
    this.status = parameters.status
    this.type = parameters.type
  }

  /** The OpenAI-shaped JSON body of this error. */
  toJSON(): OpenAIErrorBody {
    const message = this.details ? `${this.shortMessage} ${this.details}` : this.shortMessage
    return { error: { message, type: this.type, code: this.code, param: null } }
  }
}
