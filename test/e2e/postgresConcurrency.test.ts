import { randomBytes } from 'node:crypto'
import { type Address, createDomain, verifyReceiptChain } from '@rma/core'
import { chainId, createFakeUpstream, settlementContract } from '@rma/express/testing'
import { createPostgresStore } from '@rma/store'
import { Wallet } from 'ethers'
import pg from 'pg'
import { expect, test } from 'vitest'
import { paidCall } from '../fixtures/paidCall.js'
import { startMeterServer } from '../fixtures/startProcess.js'

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
const domain = createDomain({ chainId, verifyingContract: settlementContract })

test('two meter processes on one PostgreSQL, 200 concurrent calls each for one user: 400 receipts, one valid chain per meter', async () => {
  const schema = `rma_e2e_${randomBytes(4).toString('hex')}`
  const upstream = await createFakeUpstream()
  const user = Wallet.createRandom() as unknown as Wallet
  const meters = [Wallet.createRandom(), Wallet.createRandom()]
  const servers = await Promise.all(
    meters.map((m) =>
      startMeterServer({
        STORE: 'postgres',
        PG_URL,
        PG_SCHEMA: schema,
        METER_KEY: m.privateKey,
        UPSTREAM_URL: upstream.url,
      }),
    ),
  )
  try {
    const receipts = await Promise.all(
      servers.flatMap((server, s) =>
        Array.from({ length: 200 }, (_, n) => paidCall(server.url, user, s * 1000 + n)),
      ),
    )
    expect(receipts.filter((r) => r === undefined)).toHaveLength(0)
    const store = createPostgresStore({ connectionString: PG_URL, schema })
    try {
      const stored = await store.listByUser({ user: user.address as Address, limit: 10_000 })
      expect(stored).toHaveLength(400)
      const result = verifyReceiptChain(
        stored.map((s) => s.receipt),
        meters.map((m) => m.address as Address),
        { domain },
      )
      expect(result.issues).toEqual([])
      expect(result.chains.map((c) => [c.fromSeq, c.toSeq, c.count])).toEqual([
        [1, 200, 200],
        [1, 200, 200],
      ])
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
