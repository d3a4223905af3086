import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Address, Hex, ReceiptStore } from '@rma/core'
import {
  createBatchFileHandler,
  createSettlementClient,
  resolveBatchBaseUri,
  type SettlementClient,
} from '@rma/settlement'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import type { Signer } from 'ethers'

export type Logger = { info(message: string): void; warn(message: string): void }

export type SettlementJobConfig = {
  /** The asset's settler key, connected to the chain: it pays each batch's revenue in. Never logged. */
  signer: Signer
  settlementContract: Address
  assetId: Hex
  /** The provider's receipts: its SQLite file (default `./.rma/receipts.db`)… */
  db?: string
  /** …or its PostgreSQL database… */
  databaseUrl?: string
  /** …or a store opened by the caller (not closed by `stop()`). */
  store?: ReceiptStore
  /** Where batch files and proof indexes are written (default `./.rma/batches`). */
  batchDir?: string
  /**
   * Public URL of `batchDir`, recorded on chain in each batch's URI. Without it the job serves
   * `batchDir` itself over HTTP (`serveBatches`) and uses that server's URL.
   */
  batchBaseUri?: string
  /**
   * The provider's public URL, whose `rmaRouter` serves `batchDir` at `/rma/batches`: batch
   * URIs are then `<publicUrl>/rma/batches/…` and the job serves nothing itself.
   */
  publicUrl?: string
  /** Where the job serves `batchDir` when no `batchBaseUri` is given (default 127.0.0.1, port 0: any free port). */
  serveBatches?: { host?: string; port?: number }
  /** Milliseconds between rounds (default 60,000). */
  every?: number
  /** Settle only once at least this many receipts are waiting (default 1). */
  minReceipts?: number
  /** Confirmations to wait for each settlement (default 1). */
  confirmations?: number
  logger?: Logger
}

/** A settlement the job saw confirmed. */
export type ConfirmedBatch = {
  epoch: number
  txHash: Hex
  gasUsed: bigint
  approveGasUsed: bigint
  recovered: boolean
}

export type SettlementJob = {
  settlement: SettlementClient
  /** The URL batch files are published under (`batchBaseUri`, or the job's own server). */
  batchBaseUri: string
  /** Every settlement confirmed since the job started, in order. */
  readonly confirmedBatches: readonly ConfirmedBatch[]
  /** Resolves once `epoch` is confirmed (at once if it already was); rejects after `timeoutMs`. */
  confirmed(epoch: number, timeoutMs?: number): Promise<ConfirmedBatch>
  /** Stops the loop after the round in progress, then closes what the job opened. */
  stop(): Promise<void>
}

const consoleLogger: Logger = {
  info: (message) => console.log(`[settlement] ${message}`),
  warn: (message) => console.warn(`[settlement] ${message}`),
}

/**
 * Starts the settler's loop: every `every` ms, if at least `minReceipts` receipts are unsettled,
 * it verifies their chains, builds the batch (receipts tree, this epoch's rebate tree, batch
 * file and proof index), settles it on chain and waits for confirmation. A failed round is
 * logged and retried on the next one (a recorded batch is resumed, never sent twice; a refused
 * one after a growing delay, with the chain's reason logged). Without `batchBaseUri` the job
 * serves its batch directory over HTTP so the URIs it puts on chain resolve.
 *
 * @example
 * const job = await startSettlementJob({ signer: settler, settlementContract, assetId, db: './.rma/receipts.db', every: 60_000 })
 * await job.confirmed(1)
 * await job.stop()
 */
export async function startSettlementJob(config: SettlementJobConfig): Promise<SettlementJob> {
  const logger = config.logger ?? consoleLogger
  const batchDir = config.batchDir ?? './.rma/batches'
  let server: Server | undefined
  let batchBaseUri = resolveBatchBaseUri(config) || undefined
  if (!batchBaseUri) {
    const host = config.serveBatches?.host ?? '127.0.0.1'
    const handler = createBatchFileHandler({ batchDir })
    const started = createServer((req, res) => void handler(req, res))
    await new Promise<void>((resolve, reject) => {
      started.once('error', reject)
      started.listen(config.serveBatches?.port ?? 0, host, resolve)
    })
    server = started
    batchBaseUri = `http://${host}:${(started.address() as AddressInfo).port}`
    logger.info(`serving batch files and proof indexes at ${batchBaseUri}`)
  }
  const store =
    config.store ??
    (config.databaseUrl
      ? createPostgresStore({ connectionString: config.databaseUrl })
      : createSqliteStore({ path: config.db ?? './.rma/receipts.db' }))
  const settlement = createSettlementClient({
    store,
    signer: config.signer,
    contract: config.settlementContract,
    assetId: config.assetId,
    batchDir,
    batchBaseUri,
    confirmations: config.confirmations ?? 1,
  })
  const confirmedBatches: ConfirmedBatch[] = []
  const waiters = new Set<() => void>()
  settlement.events.on('batch:built', (e) =>
    logger.info(
      `epoch ${e.epoch}: batch of ${e.receiptCount} receipts, revenue ${e.revenue}, file ${e.batchUri}`,
    ),
  )
  settlement.events.on('batch:confirmed', (e) => {
    confirmedBatches.push(e)
    logger.info(
      `epoch ${e.epoch} settled on chain: tx ${e.txHash}, gas ${e.gasUsed}${e.recovered ? ' (resumed after a restart)' : ''}`,
    )
    for (const wake of waiters) wake()
  })
  settlement.events.on('error', (error) => logger.warn(`round failed, retrying: ${error.message}`))
  settlement.events.on('batch:lost', (e) =>
    logger.info(`epoch ${e.epoch}: another settler recorded it first; resuming its batch`),
  )

  const loop = settlement.run({ every: config.every ?? 60_000, minReceipts: config.minReceipts })
  let stopped: Promise<void> | undefined

  return {
    settlement,
    batchBaseUri,
    confirmedBatches,
    confirmed(epoch, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = confirmedBatches.find((b) => b.epoch === epoch)
          if (!found) return
          done()
          resolve(found)
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`Epoch ${epoch} was not settled within ${timeoutMs} ms.`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    stop() {
      stopped ??= (async () => {
        await loop.stop()
        if (!config.store) await store.close()
        if (server) await new Promise((resolve) => server.close(resolve))
      })()
      return stopped
    },
  }
}
