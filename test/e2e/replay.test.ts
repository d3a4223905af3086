import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from '@rma/core'
import { attest, createFakeUpstream } from '@rma/express/testing'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import pg from 'pg'
import { expect, test } from 'vitest'
import { startMeterServer } from '../fixtures/startProcess.js'

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

/** The same attested request, sent as captured: status and error code. */
async function send(url: string, attestation: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'rma-attestation': attestation },
    body,
  })
  const json = (await res.json()) as { error?: { code: string } }
  return { status: res.status, code: json.error?.code }
}

/** Upstream calls carrying the provider's key. */
const keyed = (upstream: { requests: { headers: Record<string, unknown> }[] }) =>
  upstream.requests.filter((r) => r.headers.authorization === 'Bearer sk-upstream').length

test('replay after a meter restart (kill -9) on one SQLite file is refused; nothing is served twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rma-replay-'))
  const upstream = await createFakeUpstream()
  const user = Wallet.createRandom() as unknown as Wallet
  const env = {
    STORE: 'sqlite',
    SQLITE_PATH: join(dir, 'receipts.db'),
    METER_KEY: Wallet.createRandom().privateKey,
    UPSTREAM_URL: upstream.url,
  }
  try {
    let server = await startMeterServer(env)
    const captured = await attest(user, body)
    expect(await send(server.url, captured)).toEqual({ status: 200, code: undefined })
    server.child.kill('SIGKILL')
    await server.exited
    server = await startMeterServer(env)
    try {
      expect(await send(server.url, captured)).toEqual({
        status: 401,
        code: 'rma_attestation_replayed',
      })
      // An honest new call is still served after the restart.
      expect((await send(server.url, await attest(user, body))).status).toBe(200)
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }
    expect(keyed(upstream)).toBe(2)
    const store = createSqliteStore({ path: env.SQLITE_PATH })
    try {
      expect(await store.listByUser({ user: user.address as Address })).toHaveLength(2)
    } finally {
      await store.close()
    }
  } finally {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('two meter processes on one PostgreSQL: a captured attestation is served once across both, even sent to both at once', async () => {
  const schema = `rma_replay_${randomBytes(4).toString('hex')}`
  const upstream = await createFakeUpstream()
  const user = Wallet.createRandom() as unknown as Wallet
  const servers = await Promise.all(
    [0, 1].map(() =>
      startMeterServer({
        STORE: 'postgres',
        PG_URL,
        PG_SCHEMA: schema,
        METER_KEY: Wallet.createRandom().privateKey,
        UPSTREAM_URL: upstream.url,
      }),
    ),
  )
  try {
    const [a, b] = servers.map((s) => s.url) as [string, string]
    const first = await attest(user, body)
    expect((await send(a, first)).status).toBe(200)
    expect(await send(b, first)).toEqual({ status: 401, code: 'rma_attestation_replayed' })
    expect(await send(a, first)).toEqual({ status: 401, code: 'rma_attestation_replayed' })

    // Ten captured attestations, each sent four times to each process concurrently.
    const captured = await Promise.all(Array.from({ length: 10 }, () => attest(user, body)))
    const answers = await Promise.all(
      captured.flatMap((attestation) =>
        Array.from({ length: 8 }, (_, i) => send(i % 2 ? a : b, attestation)),
      ),
    )
    expect(answers.filter((r) => r.status === 200)).toHaveLength(10)
    expect(
      answers.filter((r) => r.status !== 200).every((r) => r.code === 'rma_attestation_replayed'),
    ).toBe(true)
    expect(keyed(upstream)).toBe(11)
    const store = createPostgresStore({ connectionString: PG_URL, schema })
    try {
      expect(await store.listByUser({ user: user.address as Address, limit: 100 })).toHaveLength(11)
    } finally {
      await store.close()
    }
  } finally {
    for (const server of servers) server.child.kill('SIGTERM')
    await Promise.all(servers.map((s) => s.exited))
    await upstream.close()
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  }
})
