import type { IncomingMessage } from 'node:http'

/**
 * The client closed its connection (or its side of it, which Node's server takes as leaving):
 * no answer can reach it, so nothing more should be done for it (no nonce claimed, nothing
 * forwarded upstream, nothing charged).
 *
 * @example
 * if (clientGone(req)) return
 */
export function clientGone(req: IncomingMessage): boolean {
  const socket = req.socket
  return socket.destroyed || !socket.writable
}
