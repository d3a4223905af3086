import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * For an answer given before the request body was read: the answer says `connection: close`,
 * reading stops now, and the socket is destroyed as soon as the answer is handed to the
 * kernel. Node would otherwise resume reading the unread body (to discard it) until the
 * graceful close completes; a sender of 10 MiB bodies then costs the server reads, buffers
 * and garbage per connection.
 *
 * The one rule for every Node adapter (`@rma/express`, `@rma/fastify`).
 *
 * @example
 * closeUnreadBody(req, res)
 * sendError(res, error)
 */
export function closeUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return
  req.pause()
  if (!res.headersSent) res.setHeader('connection', 'close')
  const socket = req.socket
  res.once('finish', () => socket.destroy())
}
