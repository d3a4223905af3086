import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashBytes } from '@rma/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { writeAtomically } from './batchFile.js'
import { createBatchFileHandler } from './createBatchFileHandler.js'

const assetId = `0x${'a1'.repeat(32)}`
const batchHash = `0x${'b2'.repeat(32)}`
let dir: string
let server: Server
let url: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-batch-handler-'))
  await writeAtomically(join(dir, assetId, `${batchHash}.json`), '{"version":2}\n')
  await writeFile(join(dir, 'secret.txt'), 'not served')
  const handler = createBatchFileHandler({ batchDir: dir })
  server = createServer((req, res) => void handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

describe('createBatchFileHandler', () => {
  test('serves a batch file by its content-addressed name, immutable', async () => {
    const res = await fetch(`${url}/${assetId}/${batchHash}.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await res.text()).toBe('{"version":2}\n')
  })

  test('its ETag is the hash of the bytes served, and a matching If-None-Match gets 304', async () => {
    const res = await fetch(`${url}/${assetId}/${batchHash}.json`)
    const etag = res.headers.get('etag')
    expect(etag).toBe(`"${hashBytes(Buffer.from('{"version":2}\n'))}"`)
    const again = await fetch(`${url}/${assetId}/${batchHash}.json`, {
      headers: { 'if-none-match': etag! },
    })
    expect(again.status).toBe(304)
    expect(again.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const other = await fetch(`${url}/${assetId}/${batchHash}.json`, {
      headers: { 'if-none-match': `"0x${'00'.repeat(32)}"` },
    })
    expect(other.status).toBe(200)
  })

  test('a file changed on disk is served with the hash of its new bytes, not a stale ETag', async () => {
    const path = join(dir, assetId, `${batchHash}.json`)
    await writeFile(path, '{"version":2,"x":1}\n')
    const res = await fetch(`${url}/${assetId}/${batchHash}.json`)
    expect(res.headers.get('etag')).toBe(`"${hashBytes(Buffer.from('{"version":2,"x":1}\n'))}"`)
    await writeFile(path, '{"version":2}\n')
  })

  test('nothing else is reachable, and every refusal is OpenAI-shaped JSON', async () => {
    for (const path of [
      '/secret.txt',
      `/${assetId}/../secret.txt`,
      `/${assetId}/${batchHash}.json.tmp`,
      `/%2e%2e/secret.txt`,
      `/${assetId}/0x${'cc'.repeat(32)}.json`,
    ]) {
      const res = await fetch(`${url}${path}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rma_not_found')
    }
    const post = await fetch(`${url}/${assetId}/${batchHash}.json`, { method: 'POST' })
    expect(post.status).toBe(405)
  })
})
