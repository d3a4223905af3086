import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ReceiptStore } from '@rma/core'
import {
  createSettlementClient,
  type PrepaidIdleResult,
  type PrepaidSettleResult,
  resolveBatchBaseUri,
} from '@rma/settlement'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import { CliError } from '../CliError.js'
import type { Command, CommandContext } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { parseInteger } from '../readEnv.js'
import { readSettlementMode, settlementModeOption } from '../settlementMode.js'
import { toCliError } from '../toCliError.js'

export const settleCommand: Command = {
  name: 'settle',
  summary: "settle the unsettled receipts of a store once, as the asset's settler",
  usage: 'settle --once [--mode postpaid|prepaid]',
  options: {
    ...assetOptions,
    once: { type: 'boolean', description: 'one round (required: the loop is the settlement job)' },
    mode: settlementModeOption,
    db: {
      type: 'string',
      env: 'RMA_DB',
      value: 'path',
      description: "the provider's SQLite receipt store (default .rma/receipts.db)",
    },
    'database-url': {
      type: 'string',
      env: 'RMA_DATABASE_URL',
      value: 'url',
      description: "the provider's PostgreSQL store instead",
    },
    'batch-dir': {
      type: 'string',
      env: 'RMA_BATCH_DIR',
      value: 'path',
      description: 'where batch files and proof indexes are written (default .rma/batches)',
    },
    'public-url': {
      type: 'string',
      env: 'RMA_PUBLIC_URL',
      value: 'url',
      description: "the provider's public URL: batch URIs on chain are <url>/rma/batches/…",
    },
    'batch-base-uri': {
      type: 'string',
      env: 'RMA_BATCH_BASE_URI',
      value: 'url',
      description: 'or any public URL serving the batch directory (a static host, a bucket)',
    },
    'min-receipts': {
      type: 'string',
      env: 'RMA_MIN_RECEIPTS',
      value: 'n',
      description: 'settle only if at least this many receipts wait (default 1)',
    },
    confirmations: {
      type: 'string',
      env: 'RMA_CONFIRMATIONS',
      value: 'n',
      description: 'confirmations to wait for (default 1)',
    },
  },
  details: [
    "Key: RMA_SETTLER_KEYSTORE (+ _PASSWORD) or RMA_SETTLER_PRIVATE_KEY; it pays the batch's revenue",
    'into the contract (from its deposit, else its token balance with a standing approval). A key',
    "that is not the asset's settler is refused before anything is built or sent. Prints the",
    'settled epoch, or `idle` when too few receipts wait (exit 0 either way).',
    "--mode prepaid (or RMA_SETTLEMENT_MODE=prepaid): submits the users' latest acks as vouchers",
    '(settlePrepaid): their prepaid balances pay, the settler pays only gas, no batch file or',
    'public URL is needed. Prints the vouchers applied and each one skipped with its reason',
    '(by the settler before sending, or by the contract).',
  ].join('\n'),
  async run(context) {
    const o = context.options
    if (o.once !== true)
      throw new CliError({
        code: 'USAGE',
        shortMessage:
          'rma settle runs one round: pass --once (the loop is the settlement job, examples/settlement-job).',
      })
    const mode = readSettlementMode(o)
    const batchBaseUri = resolveBatchBaseUri({
      batchBaseUri: o['batch-base-uri'] as string | undefined,
      publicUrl: o['public-url'] as string | undefined,
    })
    if (mode === 'postpaid' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(batchBaseUri))
      throw new CliError({
        code: 'CONFIG',
        shortMessage:
          "No public URL for batch files: set RMA_PUBLIC_URL (the provider's URL, whose rmaRouter serves /rma/batches) or RMA_BATCH_BASE_URI (any static host serving the batch directory).",
      })
    const minReceipts = parseInteger(o['min-receipts'], '--min-receipts', 1, 1)
    const confirmations = parseInteger(o.confirmations, '--confirmations', 1, 1)
    const wallet = await loadKey(context.env, 'RMA_SETTLER', {
      role: "the asset's settler key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    if (signer.address.toLowerCase() !== String(chain.asset.settler).toLowerCase())
      throw new CliError({
        code: 'REFUSED',
        shortMessage: `The key in RMA_SETTLER_* is ${signer.address}, not the asset's settler ${chain.asset.settler}: use the settler's key, or make this account the settler with \`rma asset set-settler\`.`,
      })
    const store = openStore(
      context.cwd,
      o.db as string | undefined,
      o['database-url'] as string | undefined,
    )
    const settlement = createSettlementClient({
      mode,
      store,
      signer,
      contract: chain.contractAddress,
      assetId: chain.assetId,
      batchDir: resolve(context.cwd, (o['batch-dir'] as string | undefined) ?? '.rma/batches'),
      ...(batchBaseUri ? { batchBaseUri } : {}),
      confirmations,
      retry: { attempts: 2 },
    })
    settlement.events.on('batch:built', (e) =>
      context.progress(
        `epoch ${e.epoch}: batch of ${e.receiptCount} receipts, revenue ${e.revenue}, file ${e.batchUri}`,
      ),
    )
    settlement.events.on('batch:submitted', (e) =>
      context.progress(`epoch ${e.epoch}: ${e.txHash} sent, waiting`),
    )
    settlement.events.on('error', (e) => context.progress(`warning: ${e.message.split('\n')[0]}`))
    try {
      const result = await settlement.settleOnce({ minReceipts })
      if ('mode' in result) return printPrepaid(context, result, minReceipts)
      if (result.status === 'idle') {
        context.print(
          { ok: true, status: 'idle', unsettled: result.unsettled },
          `idle: ${result.unsettled} unsettled receipt(s), fewer than ${minReceipts} or none`,
        )
        return 0
      }
      const batch = await store.getBatch(chain.assetId, result.epoch)
      context.print(
        {
          ok: true,
          status: 'settled',
          epoch: result.epoch,
          revenue: result.revenue.toString(),
          receiptCount: result.receiptCount,
          txHash: result.txHash,
          gasUsed: result.gasUsed.toString(),
          batchUri: batch?.batchUri ?? null,
          batchHash: batch?.batchHash ?? null,
          recovered: result.recovered,
        },
        `epoch ${result.epoch} settled: ${result.receiptCount} receipts, revenue ${result.revenue}, gas ${result.gasUsed}, batch ${batch?.batchUri ?? '?'} (tx ${result.txHash})`,
      )
      return 0
    } catch (error) {
      throw toCliError(error, { [signer.address]: 'the settler' })
    } finally {
      await store.close().catch(() => {})
      chain.provider.destroy()
    }
  },
}

/** A prepaid round: the vouchers applied, and each skipped one with its reason. */
function printPrepaid(
  context: CommandContext,
  result: PrepaidSettleResult | PrepaidIdleResult,
  minReceipts: number,
): number {
  const skipped = result.skipped.map((s) => ({ ...s }))
  const skippedLines = skipped.map(
    (s) =>
      `skipped: ${s.user} seq ${s.seq} (meter ${s.meter}): ${s.reason}, ${s.onChain ? 'by the contract' : 'held back by the settler'}${s.retried ? '; retried in a later round' : '; waits for a newer ack'}`,
  )
  if (result.status === 'idle') {
    context.print(
      { ok: true, mode: 'prepaid', status: 'idle', unsettled: result.unsettled, skipped },
      [
        `idle: no voucher to apply; ${result.unsettled} unsettled receipt(s)${minReceipts > 1 ? `, fewer than ${minReceipts} or none` : ''}`,
        ...skippedLines,
      ].join('\n'),
    )
    return 0
  }
  context.print(
    {
      ok: true,
      mode: 'prepaid',
      status: 'settled',
      epoch: result.epoch,
      revenue: result.revenue.toString(),
      receiptCount: result.receiptCount,
      vouchers: result.vouchers,
      settledVouchers: result.settledVouchers,
      skipped,
      txHash: result.txHash,
      gasUsed: result.gasUsed.toString(),
    },
    [
      `epoch ${result.epoch} settled (prepaid): ${result.settledVouchers} of ${result.vouchers} voucher(s) applied, ${result.receiptCount} receipts, debited ${result.revenue}, gas ${result.gasUsed} (tx ${result.txHash})`,
      ...skippedLines,
    ].join('\n'),
  )
  return 0
}

function openStore(
  cwd: string,
  db: string | undefined,
  databaseUrl: string | undefined,
): ReceiptStore {
  if (databaseUrl) return createPostgresStore({ connectionString: databaseUrl })
  const path = resolve(cwd, db ?? '.rma/receipts.db')
  if (!existsSync(path))
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `No receipt store at ${path}: set RMA_DB (or --db) to the provider's SQLite file, or RMA_DATABASE_URL to its PostgreSQL database.`,
    })
  return createSqliteStore({ path })
}
