import { type IncomingMessage, request } from 'node:http'
import { attestWith } from '@rma/meter/testing'
import type { PostCallParameters } from './postCall.js'

/** An answer whose body is still arriving. */
export type OpenCall = {
  status: number
  headers: Headers
  body: AsyncIterable<Buffer>
  /** Closes the connection, as a client that leaves. */
  destroy(): void
}

/**
 * Sends a call like `postCall` and returns once the status and headers arrived, so a test
 * can read the body piece by piece and leave mid-stream.
 *
 * @example
 * const call = await openCall({ url, path, body, user })
 * for await (const chunk of call.body) { call.destroy(); break }
 */
export async function openCall(parameters: PostCallParameters): Promise<OpenCall> {
  const { url, path, body, user } = parameters
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...parameters.headers,
  }
  const attestation =
    parameters.attestation === undefined
      ? user && (await attestWith(user, { body }))
      : parameters.attestation
  if (attestation) headers['rma-attestation'] = attestation
  const target = new URL(url)
  const req = request({
    host: target.hostname,
    port: target.port,
    method: 'POST',
    path,
    headers,
    signal: parameters.signal,
  })
  req.end(body)
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.once('error', reject)
  })
  const answerHeaders = new Headers()
  for (const [name, value] of Object.entries(res.headers))
    for (const one of Array.isArray(value) ? value : [value])
      if (one !== undefined) answerHeaders.append(name, one)
  return {
    status: res.statusCode ?? 0,
    headers: answerHeaders,
    body: res,
    destroy: () => req.destroy(),
  }
}
