import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from '@rma/core'
import { openaiProxy } from '@rma/express'
import { assetId, createMeteredApp, type FakeUpstream } from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import express from 'express'
import type { FromServer, ServerKind, ToServer } from './serverKinds.js'

// A server under test in a child process of its own (see serverKinds.ts), started by
// startServerProcess.ts: `serverProcess.ts <kind> <upstream origin>`. It answers on
// 127.0.0.1 and does nothing else, so the process's CPU time is the server's.

const [kind, upstreamUrl] = process.argv.slice(2) as [ServerKind, string]
const send = (message: FromServer) => process.send?.(message)

const listen = async (server: Server) => {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let close: () => Promise<void>
let stored: (users: string[]) => Promise<number> = async () => 0

if (kind === 'metered') {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-meter-'))
  const store = createSqliteStore({ path: join(dir, 'receipts.db') })
  const upstream: FakeUpstream = {
    url: upstreamUrl,
    requests: [],
    cancelled: 0,
    answered: 0,
    close: async () => {},
  }
  const app = await createMeteredApp({ store, upstream })
  stored = async (users) => {
    let count = 0
    const meter = app.meterWallet.address as Address
    for (const user of users)
      count += (await store.head({ assetId, meter, user: user as Address })).seq
    return count
  }
  close = async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
  send({ type: 'ready', url: app.url })
} else if (kind === 'unmetered') {
  // The same proxy without the meter; express.json() gives it the parsed body.
  const app = express()
  app.use(express.json({ limit: '10mb' }))
  app.post(
    '/v1/*path',
    openaiProxy({ upstream: `${upstreamUrl}/v1`, apiKey: 'sk-upstream', unmetered: 'forward' }),
  )
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  close = () => closeServer(server)
  send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
} else if (kind === 'passthrough') {
  // The floor of any HTTP proxy in Node: pipe the request up and the answer back, nothing read.
  const upstream = new URL(upstreamUrl)
  const server = createServer((req, res) => {
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, authorization: 'Bearer sk-upstream' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  server.keepAliveTimeout = 60_000
  const url = await listen(server)
  close = () => closeServer(server)
  send({ type: 'ready', url })
} else throw new Error(`serverProcess: unknown kind ${kind}`)

let profiler: Session | undefined

process.on('message', (message: ToServer) => {
  if (message.type === 'stored')
    void stored(message.users).then((receipts) => send({ type: 'stored', receipts }))
  else if (message.type === 'profileStart') {
    // Only the window asked for, on this (the serving) thread: not startup, not the load's
    // warm-up. The SQLite writer thread's CPU is in the process figures, not in this profile.
    profiler = new Session()
    profiler.connect()
    void profiler
      .post('Profiler.enable')
      .then(() => profiler!.post('Profiler.start'))
      .then(() => send({ type: 'profiled' }))
  } else if (message.type === 'profileStop') {
    const session = profiler!
    void session.post('Profiler.stop').then(({ profile }) => {
      writeFileSync(message.path, JSON.stringify(profile))
      session.disconnect()
      send({ type: 'profiled' })
    })
  } else if (message.type === 'close')
    // Exits on its own (not killed), so a `--cpu-prof` profile is written.
    void close().then(() => process.exit(0))
})

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}
