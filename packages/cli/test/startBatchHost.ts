import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

export type BatchHostMode = 'ok' | 'missing' | 'altered' | 'truncated' | 'hang'

/**
 * A static host for a batch directory that can be told to misbehave: answer 404, serve altered
 * bytes, cut the transfer after half of what it announced, or never answer.
 *
 * @example
 * const host = await startBatchHost(batchDir); host.mode = 'truncated'
 */
export async function startBatchHost(batchDir: string) {
  const sockets = new Set<import('node:net').Socket>()
  const host = {
    mode: 'ok' as BatchHostMode,
    url: '',
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer(async (req, res) => {
    if (host.mode === 'hang') return
    if (host.mode === 'missing') {
      res.writeHead(404).end()
      return
    }
    let bytes: Buffer
    try {
      bytes = await readFile(join(batchDir, (req.url ?? '/').split('?')[0]!))
    } catch {
      res.writeHead(404).end()
      return
    }
    if (host.mode === 'altered') {
      bytes = Buffer.from(bytes)
      bytes[bytes.length - 3] = bytes[bytes.length - 3] === 0x31 ? 0x32 : 0x31
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length })
    if (host.mode === 'truncated') {
      res.write(bytes.subarray(0, bytes.length >> 1))
      setTimeout(() => res.destroy(), 50)
      return
    }
    res.end(bytes)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  host.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return host
}
