import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { fetchBatchFile } from './fetchBatchFile.js'

let server: Server
let base: string
let dir: string
const body = Buffer.from(`${JSON.stringify({ version: 2, hello: 'batch' })}\n`)

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok.json': (_, res) => res.end(body),
  '/gone.json': (_, res) => {
    res.statusCode = 404
    res.end('{"error":"not found"}')
  },
  '/broken.json': (_, res) => {
    res.statusCode = 500
    res.end()
  },
  '/announced-huge.json': (_, res) => {
    res.setHeader('content-length', String(10 * 1024 * 1024))
    res.write(Buffer.alloc(1024))
    // Never finishes: the client must stop at the header.
  },
  '/streamed-huge.json': (_, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const push = () => {
      while (sent < 4 * 1024 * 1024 && res.write(chunk)) sent += chunk.length
      if (sent < 4 * 1024 * 1024) res.once('drain', push)
      else res.end()
    }
    push()
  },
  '/cut.json': (req, res) => {
    res.setHeader('content-length', '1000')
    res.write(Buffer.alloc(100, 0x20))
    setTimeout(() => req.socket.destroy(), 20)
  },
  '/silent.json': (_, res) => {
    res.flushHeaders()
  },
  '/moved.json': (_, res) => {
    res.statusCode = 301
    res.setHeader('location', '/ok.json')
    res.end()
  },
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-fetch-'))
  server = createServer((req, res) => {
    const route = routes[req.url ?? '']
    if (route) route(req, res)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

test('fetches http(s) (following redirects) and file URIs', async () => {
  expect(Buffer.from(await fetchBatchFile(`${base}/ok.json`))).toEqual(body)
  expect(Buffer.from(await fetchBatchFile(`${base}/moved.json`))).toEqual(body)
  const path = join(dir, 'batch.json')
  await writeFile(path, body)
  expect(Buffer.from(await fetchBatchFile(pathToFileURL(path).href))).toEqual(body)
})

test('a missing file: HTTP 404 and no such file', async () => {
  await expect(fetchBatchFile(`${base}/gone.json`)).rejects.toMatchObject({
    name: 'BatchMissingError',
    code: 'BATCH_MISSING',
    shortMessage: `Batch file ${base}/gone.json is missing (HTTP 404): the settler must publish it at the URI it committed on chain.`,
  })
  const uri = pathToFileURL(join(dir, 'none.json')).href
  await expect(fetchBatchFile(uri)).rejects.toMatchObject({ code: 'BATCH_MISSING' })
  await expect(fetchBatchFile(pathToFileURL(dir).href)).rejects.toMatchObject({
    code: 'BATCH_MISSING',
  })
})

test('a host that fails or cannot be reached', async () => {
  await expect(fetchBatchFile(`${base}/broken.json`)).rejects.toMatchObject({
    code: 'BATCH_UNAVAILABLE',
    shortMessage: `Batch file ${base}/broken.json answered HTTP 500: check its host, then audit again.`,
  })
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  await expect(fetchBatchFile(`http://127.0.0.1:${port}/x.json`)).rejects.toMatchObject({
    code: 'BATCH_UNAVAILABLE',
    shortMessage: `Batch file http://127.0.0.1:${port}/x.json cannot be fetched (ECONNREFUSED): check that its host is up and reachable.`,
  })
})

test('an oversized file: refused at its announced length, while streaming, and on disk', async () => {
  const maxBytes = 1024 * 1024
  await expect(fetchBatchFile(`${base}/announced-huge.json`, { maxBytes })).rejects.toMatchObject({
    code: 'BATCH_TOO_LARGE',
    shortMessage: `Batch file ${base}/announced-huge.json is larger than 1048576 bytes: raise the size limit if the batch is genuinely that big.`,
  })
  await expect(fetchBatchFile(`${base}/streamed-huge.json`, { maxBytes })).rejects.toMatchObject({
    code: 'BATCH_TOO_LARGE',
  })
  const path = join(dir, 'big.json')
  await writeFile(path, Buffer.alloc(maxBytes + 1))
  await expect(fetchBatchFile(pathToFileURL(path).href, { maxBytes })).rejects.toMatchObject({
    code: 'BATCH_TOO_LARGE',
  })
})

test('a transfer cut short', async () => {
  await expect(fetchBatchFile(`${base}/cut.json`)).rejects.toMatchObject({
    code: 'BATCH_TRUNCATED',
    shortMessage: `Batch file ${base}/cut.json stopped after 100 of 1000 bytes: its host cut the transfer; audit again or fix the host.`,
  })
})

test('a host that sends headers and then nothing: a timeout, not a hang', async () => {
  await expect(fetchBatchFile(`${base}/silent.json`, { timeoutMs: 300 })).rejects.toMatchObject({
    code: 'BATCH_TIMEOUT',
    shortMessage: `Batch file ${base}/silent.json did not arrive within 0.3 s: check its host, or raise the timeout.`,
  })
})

test('a URI scheme it cannot fetch', async () => {
  for (const uri of ['ipfs://bafy/batch.json', 's3://bucket/batch.json', '/var/rma/batch.json'])
    await expect(fetchBatchFile(uri)).rejects.toMatchObject({ code: 'UNSUPPORTED_URI' })
  await expect(fetchBatchFile('ftp://host/batch.json')).rejects.toMatchObject({
    shortMessage:
      'Batch file ftp://host/batch.json has a URI scheme (ftp) the audit cannot fetch: publish batch files over https:// (or pass fetchBatch for this scheme).',
  })
})

test('an abort stops the transfer', async () => {
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  await expect(
    fetchBatchFile(`${base}/silent.json`, { signal: controller.signal, timeoutMs: 60_000 }),
  ).rejects.toMatchObject({ code: 'ABORTED' })
})
