import type { Server } from 'node:http'

/** Stops a node:http server and its open connections. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}
