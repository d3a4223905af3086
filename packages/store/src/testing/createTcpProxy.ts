import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

/**
 * Options of {@link createTcpProxy}.
 *
 * @example
 * const options: CreateTcpProxyOptions = { target: { host: '127.0.0.1', port: 5432 } }
 */
export type CreateTcpProxyOptions = {
  /** Where connections are forwarded (a database, an upstream HTTP server). */
  target: { host: string; port: number }
  /**
   * The address the proxy listens on.
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * The port the proxy listens on; 0 picks a free one.
   * @default 0
   */
  port?: number
}

/**
 * A TCP proxy a test controls, to make the network between a client and a server fail on cue.
 * Every method acts at once and affects every connection.
 */
export type TcpProxy = {
  /** Connect here instead of the target. */
  readonly host: string
  readonly port: number
  /** Connections open through the proxy right now. */
  readonly connections: number
  /** Bytes from the server that {@link TcpProxy.dropReplies} discarded so far. */
  readonly droppedBytes: number
  /**
   * Resets every open connection on both sides, as a broken network would: the client sees its
   * connection fail, the server sees its client vanish. New connections pass (unless refused).
   */
  cut(): void
  /** New connections are reset as soon as they are accepted, until {@link TcpProxy.accept}. */
  refuse(): void
  /** New connections pass again. */
  accept(): void
  /**
   * From now on, what the server sends is discarded (not delivered, not held) until
   * {@link TcpProxy.resume}, while the clients' bytes still reach it: the server acts on a
   * request (a COMMIT, say) and its reply is lost.
   */
  dropReplies(): void
  /** Nothing passes in either direction; bytes are held, in order, until `resume`. */
  pause(): void
  /** Ends `pause` (delivering what was held) and `dropReplies`. */
  resume(): void
  /** Stops listening and resets every connection. */
  close(): Promise<void>
}

type Pair = { client: Socket; server: Socket; toServer: Buffer[]; toClient: Buffer[] }

/**
 * Starts a TCP proxy to `target` on a free local port. Used by the store's tests and by the
 * fail-closed end-to-end tests (a meter whose PostgreSQL connection is cut mid-run).
 *
 * @example
 * import { createTcpProxy } from '@rma/store/testing'
 *
 * const proxy = await createTcpProxy({ target: { host: '127.0.0.1', port: 5432 } })
 * const store = createPostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test` })
 * proxy.refuse() // the database becomes unreachable for new connections...
 * proxy.cut() // ...and for the open ones
 * proxy.accept() // back
 * await proxy.close()
 */
export async function createTcpProxy(options: CreateTcpProxyOptions): Promise<TcpProxy> {
  const { target, host = '127.0.0.1', port = 0 } = options
  const pairs = new Set<Pair>()
  let refusing = false
  let paused = false
  let dropping = false
  let droppedBytes = 0

  function reset(socket: Socket): void {
    if (!socket.destroyed) socket.resetAndDestroy()
  }

  function end(pair: Pair): void {
    if (!pairs.delete(pair)) return
    reset(pair.client)
    reset(pair.server)
  }

  function flush(pair: Pair): void {
    for (const chunk of pair.toServer.splice(0)) pair.server.write(chunk)
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk)
  }

  const server: Server = createServer((client) => {
    if (refusing) {
      client.on('error', () => {})
      reset(client)
      return
    }
    const upstream = tcpConnect(target)
    const pair: Pair = { client, server: upstream, toServer: [], toClient: [] }
    pairs.add(pair)
    // Bytes from the client before the upstream connected are queued by the socket itself.
    client.on('data', (chunk: Buffer) => {
      if (paused) pair.toServer.push(chunk)
      else upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (dropping) droppedBytes += chunk.length
      else if (paused) pair.toClient.push(chunk)
      else client.write(chunk)
    })
    for (const socket of [client, upstream]) {
      socket.on('error', () => end(pair))
      socket.on('close', () => end(pair))
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The proxy has no port.')

  return {
    host,
    port: address.port,
    get connections() {
      return pairs.size
    },
    get droppedBytes() {
      return droppedBytes
    },
    cut() {
      for (const pair of [...pairs]) end(pair)
    },
    refuse() {
      refusing = true
    },
    accept() {
      refusing = false
    },
    dropReplies() {
      dropping = true
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
      dropping = false
      for (const pair of pairs) flush(pair)
    },
    async close() {
      refusing = true
      for (const pair of [...pairs]) end(pair)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
