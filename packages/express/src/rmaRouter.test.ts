import type { IncomingMessage, ServerResponse } from 'node:http'
import { createMemoryStore } from '@rma/store'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

let app: MeteredApp
let bare: MeteredApp
const seen: { method: string; url: string }[] = []
let failing = false

// The shape of @rma/settlement's createBatchFileHandler: a Node handler answering itself.
async function batches(req: IncomingMessage, res: ServerResponse) {
  seen.push({ method: req.method ?? '', url: req.url ?? '' })
  if (failing) throw new Error('EIO /var/lib/rma/batches')
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'public, max-age=31536000, immutable',
    etag: '"0xabc"',
  })
  res.end('{"version":2}\n')
}

beforeAll(async () => {
  app = await createMeteredApp({ store: createMemoryStore(), router: { batches } })
  bare = await createMeteredApp({ store: createMemoryStore() })
})
afterAll(async () => {
  await app.close()
  await bare.close()
})

describe('rmaRouter batches option', () => {
  test('serves /rma/batches/* through the handler, unmetered, with the path below the mount', async () => {
    const name = `/0x${'a1'.repeat(32)}/0x${'b2'.repeat(32)}.json`
    const res = await fetch(`${app.url}/rma/batches${name}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('etag')).toBe('"0xabc"')
    expect(res.headers.get('rma-receipt')).toBeNull()
    expect(await res.text()).toBe('{"version":2}\n')
    expect(seen.at(-1)).toEqual({ method: 'GET', url: name })
  })

  test('a failing handler is answered as OpenAI-shaped JSON, never a stack trace', async () => {
    failing = true
    try {
      const res = await fetch(`${app.url}/rma/batches/x.json`)
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(text).not.toContain('EIO')
      expect(text).not.toContain('at ')
      expect(JSON.parse(text)).toMatchObject({ error: { type: 'server_error' } })
    } finally {
      failing = false
    }
  })

  test('without the option nothing is served under /rma/batches', async () => {
    const res = await fetch(
      `${bare.url}/rma/batches/0x${'a1'.repeat(32)}/0x${'b2'.repeat(32)}.json`,
    )
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rma_not_found')
  })
})
