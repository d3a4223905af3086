import type { Address, Hex, ReceiptStore } from '@rma/core'
import { createSettlementClient, type SettlementClient } from '@rma/settlement'
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
  /** Where batch files are written (default `./.rma/batches`); serve it for auditors. */
  batchDir?: string
  /** Public URL of `batchDir`, recorded on chain as each batch's URI (default its file:// URL). */
  batchBaseUri?: string
  /** Milliseconds between rounds (default 60,000). */
  every?: number
  /** Settle only once at least this many receipts are waiting (default 1). */
  minReceipts?: number
  /** Confirmations to wait for each settlement (default 1). */
  confirmations?: number
  logger?: Logger
}

/** A settlement the job saw confirmed. */
export type ConfirmedBatch = { epoch: number; txHash: Hex; gasUsed: bigint; recovered: boolean }

export type SettlementJob = {
  settlement: SettlementClient
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
 * it verifies their chains, builds the batch (receipts tree, cumulative rebate tree, batch
 * file), settles it on chain and waits for confirmation. A failed round is logged and retried
 * on the next one (a recorded batch is resumed, never sent twice).
 *
 * @example
 * const job = startSettlementJob({ signer: settler, settlementContract, assetId, db: './.rma/receipts.db', every: 60_000 })
 * await job.confirmed(1)
 * await job.stop()
 */
export function startSettlementJob(config: SettlementJobConfig): SettlementJob {
  const logger = config.logger ?? consoleLogger
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
    batchDir: config.batchDir ?? './.rma/batches',
    batchBaseUri: config.batchBaseUri,
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

  const loop = settlement.run({ every: config.every ?? 60_000, minReceipts: config.minReceipts })
  let stopped: Promise<void> | undefined

  return {
    settlement,
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
      })()
      return stopped
    },
  }
}
