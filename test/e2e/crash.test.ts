import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  hashReceipt,
  type SignedUsageReceipt,
  verifyReceiptChain,
} from '@rma/core'
import { chainId, createFakeUpstream, settlementContract } from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import { expect, test } from 'vitest'
import { paidCall } from '../fixtures/paidCall.js'
import { startMeterServer } from '../fixtures/startProcess.js'

const domain = createDomain({ chainId, verifyingContract: settlementContract })

test('kill -9 during concurrent calls: every receipt a client received is stored, no chain has a gap or a duplicate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rma-crash-'))
  const upstream = await createFakeUpstream()
  const meter = Wallet.createRandom()
  const users = Array.from({ length: 4 }, () => Wallet.createRandom() as unknown as Wallet)
  const env = {
    STORE: 'sqlite',
    SQLITE_PATH: join(dir, 'receipts.db'),
    METER_KEY: meter.privateKey,
    UPSTREAM_URL: upstream.url,
  }
  try {
    let server = await startMeterServer(env)
    const received: SignedUsageReceipt[] = []
    let stop = false
    const workers = Array.from({ length: 16 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        const receipt = await paidCall(server.url, users[w % users.length]!, n)
        if (receipt) received.push(receipt)
      }
    })
    while (received.length < 150) await new Promise((r) => setTimeout(r, 5))
    stop = true
    server.child.kill('SIGKILL')
    expect(await server.exited).toBeNull()
    await Promise.all(workers)
    const beforeRestart = received.length

    // The restarted meter continues every chain where the store says it ended.
    server = await startMeterServer(env)
    for (let n = 0; n < 8; n++) {
      const receipt = await paidCall(server.url, users[n % users.length]!, 1000 + n)
      expect(receipt).toBeDefined()
      received.push(receipt!)
    }
    server.child.kill('SIGTERM')
    await server.exited

    const store = createSqliteStore({ path: env.SQLITE_PATH })
    try {
      for (const receipt of received)
        expect(await store.getByHash(hashReceipt(receipt, domain))).toBeDefined()
      const all = (
        await Promise.all(
          users.map((u) => store.listByUser({ user: u.address as Address, limit: 100_000 })),
        )
      ).flat()
      const result = verifyReceiptChain(
        all.map((s) => s.receipt),
        [meter.address as Address],
        { domain },
      )
      expect(result.issues).toEqual([])
      expect(result.chains).toHaveLength(users.length)
      expect(all.length).toBeGreaterThanOrEqual(received.length)
      expect(beforeRestart).toBeGreaterThanOrEqual(150)
    } finally {
      await store.close()
    }
  } finally {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  }
})
