import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LedgerExport } from '@rma/client'
import { toVoucher, type Voucher } from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  allocateProRata,
  createDomain,
  createRebateTree,
  createReceiptsTree,
  encodeReceipt,
  type Hex,
  hashBytes,
  hashReceipt,
  type RmaDomain,
  type SignedReceiptAck,
  type SignedUsageReceipt,
  signAck,
  signReceipt,
  splitRevenue,
  zeroHash,
} from '@rma/core'
import {
  createBatchFileHandler,
  createSettlementClient,
  createSettler,
  type SettlementClient,
} from '@rma/settlement'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'

/** A signed receipt with its hash and compact encoding. */
export type TestReceipt = { receipt: SignedUsageReceipt; hash: Hex; encoded: string }

/** What `postBatch` may falsify: each option is one way a settler can cheat. */
export type PostBatchOptions = {
  /** Revenue to settle (default Σ receipts). */
  revenue?: bigint
  /** Rebate lines to commit (default the pro-rata ones). */
  rebates?: { user: string; amount: bigint }[]
  /** URI to commit (default the HTTP URL of the content-addressed file). */
  uri?: string
  /** Receipts to commit on chain (root and count) instead of the file's. */
  committedReceipts?: readonly TestReceipt[]
  /** Rewrites the file before it is hashed and committed (the settler commits these bytes). */
  rewrite?: (file: Record<string, unknown>) => Record<string, unknown> | Buffer
}

/**
 * A real anvil chain with an RMA asset, a meter key, users and supporters, the real settlement
 * client settling honest epochs from a store, an HTTP server publishing its batch files, and
 * the means to cheat: sign receipts by hand (`sign`), post hand-made batches as the settler
 * (`postBatch`). Everything is stopped by `close`.
 *
 * @example
 * const chain = await createAuditChain()
 * await chain.meter(chain.users[0], 1_000n); await chain.settleHonest()
 */
export type AuditChain = Awaited<ReturnType<typeof createAuditChain>>

export async function createAuditChain(
  options: { users?: number; shares?: SettlementFixture['shares'] } = {},
) {
  const shares = options.shares ?? {
    issuerBps: 5000,
    supportersBps: 3000,
    usersBps: 1500,
    protocolBps: 500,
  }
  const dir = await mkdtemp(join(tmpdir(), 'rma-audit-'))
  const batchDir = join(dir, 'batches')
  const anvil: Anvil = await startAnvil({ accounts: 12 })
  const fx = await deploySettlementFixture(anvil, { shares })
  const assetId = fx.assetId.toLowerCase() as Hex
  const contract = fx.settlementAddress.toLowerCase() as Address
  const domain: RmaDomain = createDomain({ chainId: anvil.chainId, verifyingContract: contract })
  const handler = createBatchFileHandler({ batchDir })
  const server: Server = createServer((req, res) => void handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const batchBaseUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const store = createMemoryStore()
  const settlement: SettlementClient = createSettlementClient({
    store,
    signer: fx.settler,
    contract,
    assetId,
    batchDir,
    batchBaseUri,
  })
  const users = Array.from(
    { length: options.users ?? 3 },
    () => new Wallet(Wallet.createRandom().privateKey),
  )
  const supporters = fx.others.slice(0, 2)
  const heads = new Map<string, { seq: number; hash: Hex; cumulative: bigint }>()
  const headKey = (meter: string, user: string) => `${meter.toLowerCase()}:${user.toLowerCase()}`

  async function signed(
    meter: Wallet,
    user: string,
    fields: Partial<SignedUsageReceipt> & { seq: number; prev: Hex },
  ): Promise<TestReceipt> {
    const receipt = await signReceipt({
      signer: meter,
      domain,
      receipt: {
        assetId,
        meter: meter.address as Address,
        user: user as Address,
        requestHash: `0x${'11'.repeat(32)}`,
        responseHash: `0x${'22'.repeat(32)}`,
        model: 'gpt-4o-mini',
        inputTokens: 10,
        cachedInputTokens: 0,
        outputTokens: 20,
        reasoningTokens: 0,
        usageSource: 'reported',
        amount: 1_000n,
        cumulativeAmount: fields.amount ?? 1_000n,
        cacheWriteTokens: 0,
        priceTable: zeroHash,
        attestation: zeroHash,
        timestamp: Math.floor(Date.now() / 1000),
        ...fields,
      },
    })
    return { receipt, hash: hashReceipt(receipt, domain), encoded: encodeReceipt(receipt) }
  }

  return {
    anvil,
    fx,
    assetId,
    contract,
    domain,
    rpcUrl: anvil.url,
    batchDir,
    batchBaseUri,
    store,
    settlement,
    users,
    supporters,
    /** Shared with the test: a scratch directory removed on close. */
    dir,

    /** A user's ledger export (`rma.ledger/1`, as `client.rma.ledger.exportJSON()` writes it). */
    ledgerOf(
      receipts: readonly TestReceipt[],
      rejected: readonly TestReceipt[] = [],
    ): LedgerExport {
      return {
        format: 'rma.ledger/1',
        domain: {
          name: 'RMA',
          version: '1',
          chainId: String(anvil.chainId),
          verifyingContract: contract,
        },
        receipts: receipts.map((r, i) => ({
          id: randomUUID(),
          requestId: null,
          hash: r.hash,
          encoded: r.encoded,
          checks: { usage: 'matched', response: 'matched', price: 'unchecked' },
          receivedAt: 1_700_000_000_000 + i,
        })),
        acks: [],
        rejected: rejected.map((r) => ({
          id: null,
          requestId: null,
          encoded: r.encoded,
          code: 'CHAIN_FORK',
          message: 'two receipts for one seq',
          at: 1_700_000_000_000,
        })),
      }
    },

    /** Unix seconds of the latest block. */
    async now(): Promise<number> {
      return (await anvil.provider.getBlock('latest'))!.timestamp
    },

    /** An honest metered call: the meter appends the chain's next receipt to the store. */
    async meter(user: Wallet, amount: bigint, meter: Wallet = fx.meter): Promise<TestReceipt> {
      let out: TestReceipt | undefined
      await store.append({
        assetId,
        meter: meter.address as Address,
        user: user.address as Address,
        id: randomUUID(),
        async sign(head) {
          out = await signed(meter, user.address, {
            seq: head.seq + 1,
            prev: head.hash,
            amount,
            cumulativeAmount: head.cumulativeAmount + amount,
          })
          return { receipt: out.receipt, hash: out.hash }
        },
      })
      heads.set(headKey(meter.address, user.address), {
        seq: out!.receipt.seq,
        hash: out!.hash,
        cumulative: out!.receipt.cumulativeAmount,
      })
      return out!
    },

    /** Settles what the store holds with the real settlement client. */
    async settleHonest() {
      const result = await settlement.settleOnce()
      if (result.status !== 'settled') throw new Error(`nothing settled: ${JSON.stringify(result)}`)
      return result
    },

    /**
     * Signs the next receipt of a chain by hand, outside the store (for hand-made batches).
     * `advance: false` leaves the tracked head where it was (a receipt that should never exist).
     */
    async sign(
      user: Wallet,
      fields: Partial<SignedUsageReceipt> = {},
      { meter = fx.meter, advance = true }: { meter?: Wallet; advance?: boolean } = {},
    ): Promise<TestReceipt> {
      const key = headKey(meter.address, user.address)
      const head = heads.get(key) ?? { seq: 0, hash: zeroHash, cumulative: 0n }
      const out = await signed(meter, user.address, {
        seq: head.seq + 1,
        prev: head.hash,
        cumulativeAmount: head.cumulative + (fields.amount ?? 1_000n),
        ...fields,
      })
      if (advance)
        heads.set(key, {
          seq: out.receipt.seq,
          hash: out.hash,
          cumulative: out.receipt.cumulativeAmount,
        })
      return out
    },

    /**
     * Posts a batch as the settler, by hand: writes a version-2 batch file under its hash in
     * the published directory and settles its roots. Honest unless an option falsifies it.
     */
    async postBatch(receipts: readonly TestReceipt[], cheat: PostBatchOptions = {}) {
      const epoch = Number((await fx.settlement.getAsset(assetId)).epoch) + 1
      const sum = receipts.reduce((s, r) => s + r.receipt.amount, 0n)
      const spend = new Map<string, bigint>()
      for (const { receipt } of receipts) {
        const u = receipt.user.toLowerCase()
        spend.set(u, (spend.get(u) ?? 0n) + receipt.amount)
      }
      const ordered = [...spend.keys()].sort()
      const parts = allocateProRata(
        splitRevenue(sum, shares).users,
        ordered.map((u) => spend.get(u)!),
      )
      const rebates = (
        cheat.rebates ?? ordered.map((user, i) => ({ user, amount: parts[i]! }))
      ).filter((l) => l.amount > 0n)
      const rebateTree =
        rebates.length === 0
          ? null
          : createRebateTree(
              rebates.map((l) => ({ user: l.user as Address, cumulativeAmount: l.amount })),
            )
      // A cheating settler's own tree builder may take a leaf twice; core's refuses, so the
      // root commits the distinct receipts (what the audit rebuilds).
      const receiptsTree = createReceiptsTree([...new Set(receipts.map((r) => r.hash))])
      const file = {
        version: 2,
        assetId,
        epoch,
        chainId: String(anvil.chainId),
        contract,
        revenue: sum.toString(),
        receiptCount: receipts.length,
        split: {},
        receiptsRoot: receiptsTree.root,
        rebateRoot: rebateTree?.root ?? zeroHash,
        receipts: receipts.map((r) => ({ id: randomUUID(), hash: r.hash, encoded: r.encoded })),
        rebates: rebates.map((l) => ({ user: l.user, amount: l.amount.toString() })),
        receiptsTree: receiptsTree.dump(),
        rebateTree: rebateTree?.dump() ?? null,
      }
      const rewritten = cheat.rewrite ? cheat.rewrite(file) : file
      const bytes = Buffer.isBuffer(rewritten)
        ? rewritten
        : Buffer.from(`${JSON.stringify(rewritten, null, 1)}\n`)
      const batchHash = hashBytes(bytes)
      const name = `${assetId}/${batchHash}.json`
      const path = join(batchDir, name)
      await mkdir(join(batchDir, assetId), { recursive: true })
      await writeFile(path, bytes)
      const uri = cheat.uri ?? `${batchBaseUri}${name}`
      const committed = cheat.committedReceipts ?? receipts
      await (
        await fx.settlement
          .connect(fx.settler)
          .settle(
            assetId,
            epoch,
            cheat.revenue ?? sum,
            createReceiptsTree([...new Set(committed.map((r) => r.hash))]).root,
            rebateTree?.root ?? zeroHash,
            committed.length,
            uri,
            batchHash,
          )
      ).wait()
      return { epoch, batchHash, path, uri, bytes }
    },

    /** Credits `user`'s prepaid balance (paid by a spare funded account). */
    async deposit(user: Wallet, amount: bigint) {
      const funder = fx.others[fx.others.length - 1]!
      await (
        await fx.settlement.connect(funder).depositFor(fx.tokenAddress, user.address, amount)
      ).wait()
    },

    /**
     * The user's ack of `receipt` (its voucher for the chain's cumulative amount), kept in the
     * store as `withRMA` sends it to the meter; `store: false` only signs it.
     */
    async ack(
      user: Wallet,
      r: TestReceipt,
      fields: { cumulativeAmount?: bigint } = {},
      { store: keep = true }: { store?: boolean } = {},
    ): Promise<SignedReceiptAck> {
      const signedAck = await signAck({
        signer: user,
        domain,
        ack: {
          assetId,
          user: r.receipt.user,
          meter: r.receipt.meter,
          seq: r.receipt.seq,
          receiptHash: r.hash,
          cumulativeAmount: fields.cumulativeAmount ?? r.receipt.cumulativeAmount,
        },
      })
      if (keep) await store.addAck(signedAck)
      return signedAck
    },

    /** One round of the real prepaid settler (`createSettler({ mode: 'prepaid' })`) over the store. */
    async settlePrepaidHonest() {
      const settler = createSettler({
        mode: 'prepaid',
        store,
        signer: fx.settler,
        contract,
        assetId,
        retry: { attempts: 1 },
      })
      const result = await settler.settleOnce()
      if (result.status !== 'settled') throw new Error(`nothing settled: ${JSON.stringify(result)}`)
      return result
    },

    /** Submits vouchers by hand as the settler (`settlePrepaid`): what a settler of its own code may send. */
    async postVouchers(acks: readonly (SignedReceiptAck | Voucher)[]) {
      const vouchers = acks.map((a) => ('signature' in a ? toVoucher(a) : a))
      return (await (
        await fx.settlement.connect(fx.settler).settlePrepaid(assetId, vouchers)
      ).wait())!
    },

    /** Saves the chain (anvil snapshot) and the tracked chain heads; the returned function goes back to them, as often as needed. */
    async checkpoint() {
      let id = await anvil.snapshot()
      const saved = new Map(heads)
      return async () => {
        await anvil.revert(id)
        id = await anvil.snapshot()
        heads.clear()
        for (const [k, v] of saved) heads.set(k, v)
      }
    },

    async close() {
      await new Promise((resolve) => server.close(resolve))
      await anvil.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
