import type { Wallet } from 'ethers'
import { openCall } from './openCall.js'

/** A server's answer, with the exact body bytes. */
export type CallAnswer = {
  status: number
  headers: Headers
  bytes: Uint8Array
  text: string
}

/** How {@link postCall} sends a call. */
export type PostCallParameters = {
  /** Server base URL. */
  url: string
  /** Sent byte for byte (no URL normalisation), e.g. `/v1//chat/completions`. */
  path: string
  body: string
  /** Signs an honest attestation of `body` unless `attestation` is given. */
  user?: Wallet
  /** The `rma-attestation` header as is; `null` sends none. */
  attestation?: string | null
  headers?: Record<string, string>
  signal?: AbortSignal
}

/**
 * POSTs a call over node:http with the path sent byte for byte (fetch would resolve `..` and
 * `%2e`), and reads the whole answer.
 *
 * @example
 * const answer = await postCall({ url, path: '/v1/chat/completions', body, user })
 */
export async function postCall(parameters: PostCallParameters): Promise<CallAnswer> {
  const response = await openCall(parameters)
  const parts: Buffer[] = []
  for await (const chunk of response.body) parts.push(chunk as Buffer)
  const bytes = new Uint8Array(Buffer.concat(parts))
  return {
    status: response.status,
    headers: response.headers,
    bytes,
    text: Buffer.from(bytes).toString('utf8'),
  }
}
