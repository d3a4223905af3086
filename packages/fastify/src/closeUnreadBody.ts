import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * For an answer given before the request body was read (a refused call): the answer says
 * `connection: close` and the socket is destroyed once the answer is handed to the kernel, so a
 * sender of large bodies costs no further reads and no later request on the connection is
 * parsed from the unread bytes. The same rule as `@rma/express`'s.
 *
 * @example
 * closeUnreadBody(request.raw, reply.raw)
 */
export function closeUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return
  req.pause()
  if (!res.headersSent) res.setHeader('connection', 'close')
  const socket = req.socket
  res.once('finish', () => socket.destroy())
}
