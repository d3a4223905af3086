const encoder = new TextEncoder()

/**
 * The exact bytes a fetch body will put on the wire, for the bodies whose bytes are known up
 * front: a string (UTF-8, as fetch encodes it), an ArrayBuffer or a view of one. Streams,
 * `FormData`, `Blob` and `URLSearchParams` give `undefined`: those calls are sent unattested
 * (multipart uploads are not metered by `@rma/express`).
 *
 * @example
 * readBodyBytes('{"model":"gpt-4o-mini"}') // Uint8Array(23)
 */
export function readBodyBytes(body: unknown): Uint8Array | undefined {
  if (typeof body === 'string') return encoder.encode(body)
  if (body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  return undefined
}
