import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rmaSettlementAbi } from '@rma/contracts'
import { type Anvil, startAnvil } from '@rma/contracts/testing'
import type { Address, RevenueShares } from '@rma/core'
import {
  type Call,
  claimRebate,
  createRmaOpenAI,
  type RmaOpenAI,
  runCalls,
} from '@rma/example-client-openai'
import {
  defaultPrices,
  type Provider,
  standInModelName,
  startProvider,
} from '@rma/example-provider-express'
import { type SettlementJob, startSettlementJob } from '@rma/example-settlement-job'
import {
  claimRewards,
  type SupporterConfig,
  stake,
  supporterStatus,
  unstakeAndWithdraw,
} from '@rma/example-supporter'
import { commitPriceTable, createSettlementClient, readPriceTableCommitment } from '@rma/settlement'
import { createSqliteStore } from '@rma/store'
import { type Check, checkReport } from './checkReport.js'
import { type DemoAsset, deployDemoAsset } from './deployDemoAsset.js'
import { type ChainReport, readChainReport } from './readChainReport.js'

export type RunDemoOptions = {
  /** API users (default 3): user i makes i + 1 calls per epoch, JSON and streaming mixed. */
  users?: number
  /** Epochs to settle (default 2). */
  epochs?: number
  /**
   * `prepaid` (default): users deposit on the settlement contract, their acks are vouchers the
   * settler submits, rebates are credited to their balances and user 1 withdraws after the
   * delay; the provider pays nothing in. `postpaid`: the settler pays each batch's revenue in
   * and users claim rebates with Merkle proofs.
   */
  mode?: 'prepaid' | 'postpaid'
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** Aborting stops everything the demo started (what Ctrl-C does). */
  signal?: AbortSignal
}

/** What the users did, as their own ledgers saw it: compared with the chain by the checks. */
export type OffChainFacts = {
  calls: number
  streamingCalls: number
  inputTokens: number
  outputTokens: number
  /** Per epoch, per user (lowercase address): the sum of the verified receipts' amounts. */
  spend: Map<string, bigint>[]
  /** Per user (lowercase address): receipts verified by the user's client. */
  receiptsVerified: Map<string, number>
  callsPerUser: Map<string, number>
  stakes: { address: Address; amount: bigint; exited: boolean }[]
}

export type DemoResult = {
  ok: boolean
  mode: 'prepaid' | 'postpaid'
  chainId: number
  asset: Pick<DemoAsset, 'assetId' | 'settlementContract' | 'tokenAddress' | 'symbol' | 'decimals'>
  shares: RevenueShares
  facts: OffChainFacts
  chain: ChainReport
  checks: Check[]
  durationMs: number
}

/** The asset's revenue shares in the demo: issuer 50%, supporters 30%, users 15%, protocol 5%. */
export const demoShares: RevenueShares = {
  issuerBps: 5000,
  supportersBps: 3000,
  usersBps: 1500,
  protocolBps: 500,
}

const unbondingDelay = 7 * 24 * 3600
const tUSD = 1_000_000n // one token in base units (6 decimals)
/** What each API user deposits in prepaid mode. */
const userDeposit = 5n * tUSD
const prompts = [
  'What does a usage receipt prove about this call?',
  'Explain in one paragraph why supporters stake on a model asset.',
  'Summarise how a Merkle proof lets me claim my rebate for every past epoch at once.',
  'Write a haiku about metered tokens.',
  'List three things an auditor checks in a batch file.',
  'Why is money kept as integer base units instead of floating point?',
  'How is the revenue of a batch split among issuer, supporters, users and protocol?',
]

/**
 * The whole RMA flow on a local anvil chain, in one process: deploy the token and the
 * settlement contract, register an asset, stake as two supporters, start the provider (meter +
 * stand-in model) and the settlement job, let API users make JSON and streaming calls through
 * `withRMA` for each epoch, settle, claim for every role, let a supporter unstake and withdraw
 * after the unbonding delay, then read everything back from the chain and check it.
 *
 * Everything started is stopped on return, on error, and when `signal` aborts.
 *
 * @example
 * const result = await runDemo({ log: console.log })
 * if (!result.ok) process.exitCode = 1
 */
export async function runDemo(options: RunDemoOptions = {}): Promise<DemoResult> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const userCount = options.users ?? 3
  const epochs = options.epochs ?? 2
  const mode = options.mode ?? 'prepaid'
  const cleanup = createCleanup()
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => {
      reject(new Error('The demo was interrupted.'))
      void cleanup.run()
    }
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})

  async function main(): Promise<DemoResult> {
    log('▸ starting a local anvil chain')
    const anvil: Anvil = await startAnvil({ accounts: 6 + userCount })
    cleanup.add(() => anvil.stop())
    log(`  anvil at ${anvil.url} (chain ${anvil.chainId})`)
    const [owner, issuer, settler, meter, ...rest] = anvil.accounts
    const supporters = rest.slice(0, 2)
    const users = rest.slice(2, 2 + userCount)
    if (!owner || !issuer || !settler || !meter || supporters.length < 2)
      throw new Error('anvil did not give enough accounts.')

    log('▸ deploying the test token (tUSD, 6 decimals) and the settlement contract')
    const asset = await deployDemoAsset({
      owner,
      issuer,
      settler,
      meter: meter.address as Address,
      shares: demoShares,
      unbondingDelay,
      model: standInModelName,
      mint: [
        { to: settler.address as Address, amount: 1_000n * tUSD },
        ...supporters.map((s) => ({ to: s.address as Address, amount: 10_000n * tUSD })),
        ...(mode === 'prepaid'
          ? users.map((u) => ({ to: u.address as Address, amount: userDeposit }))
          : []),
      ],
    })
    const { assetId, settlementContract } = asset
    log(
      `  asset ${assetId} registered on ${settlementContract}: issuer 50%, supporters 30%, users 15%, protocol 5%, unbonding 7 days`,
    )

    const stakes = [1_000n * tUSD, 3_000n * tUSD]
    const supporterConfigs: SupporterConfig[] = supporters.map((signer) => ({
      signer,
      settlementContract,
      assetId,
    }))
    for (const [i, config] of supporterConfigs.entries()) {
      await stake(config, stakes[i]!)
      log(`▸ supporter ${supporters[i]!.address} staked ${fmtToken(stakes[i]!)} tUSD`)
    }

    const dir = await mkdtemp(join(tmpdir(), 'rma-demo-'))
    cleanup.add(() => rm(dir, { recursive: true, force: true }))
    const store = createSqliteStore({ path: join(dir, 'receipts.db') })
    cleanup.add(() => store.close())

    const callsPerEpoch = (userCount * (userCount + 1)) / 2
    // Prepaid: the settler submits the users' vouchers once each epoch's acks are in (no batch
    // files, nothing paid in); postpaid: the settlement job batches and pays in.
    const prepaidSettlement =
      mode === 'prepaid'
        ? createSettlementClient({
            mode: 'prepaid',
            store,
            signer: settler,
            contract: settlementContract,
            assetId,
            batchDir: join(dir, 'batches'),
          })
        : undefined
    const job: SettlementJob | undefined = prepaidSettlement
      ? undefined
      : await startSettlementJob({
          signer: settler,
          settlementContract,
          assetId,
          store,
          batchDir: join(dir, 'batches'),
          every: 200,
          // Each epoch's calls make one batch: the job waits until all of them are in.
          minReceipts: callsPerEpoch,
          logger: {
            info: (m) => log(`  [settlement] ${m}`),
            warn: (m) => log(`  [settlement] ${m}`),
          },
        })
    if (job) cleanup.add(() => job.stop())

    // The issuer commits the price table's root before the meter serves (when the contract has
    // price tables): receipts name it, and a mispricing proof checks them against it.
    const hasPriceTables = (rmaSettlementAbi as readonly { name?: string }[]).some(
      (item) => item.name === 'commitPriceTable',
    )
    if (hasPriceTables) {
      const { root, tree } = await commitPriceTable({
        signer: issuer,
        contract: settlementContract,
        assetId,
        table: defaultPrices,
        effectiveFrom: 0,
        uri: `file://${join(dir, 'prices.json')}`,
      })
      // Published where the URI says: OpenZeppelin's standard-v1 dump, every entry and node.
      await writeFile(join(dir, 'prices.json'), JSON.stringify(tree.dump(), null, 2))
      log(`▸ issuer commits the price table: root ${root} (${tree.entries.length} entries)`)
    } else log('  (this RMASettlement has no price tables: receipts name an uncommitted root)')
    const priceTableCommitted = hasPriceTables
      ? async (root: `0x${string}`) =>
          (
            await readPriceTableCommitment({
              runner: issuer,
              contract: settlementContract,
              assetId,
              root,
            })
          ).version !== 0n
      : undefined

    const provider: Provider = await startProvider({
      port: 0,
      assetId,
      chainId: anvil.chainId,
      settlementContract,
      meterKey: { signer: meter },
      store,
      ...(job
        ? { proofs: job.settlement.proofFor }
        : { rpcUrl: anvil.url, prepaid: { maxUnacked: 16 } }),
      ...(hasPriceTables ? { rpcUrl: anvil.url, requireCommittedPrices: true } : {}),
      logReceipts: false,
      logger: { info: (m) => log(`  [provider] ${m}`), warn: (m) => log(`  [provider] ${m}`) },
    })
    cleanup.add(() => provider.close())

    const clients: RmaOpenAI[] = users.map((signer) =>
      createRmaOpenAI({
        baseURL: provider.baseURL,
        signer,
        assetId,
        chainId: anvil.chainId,
        settlementContract,
        meters: [provider.meterAddress],
        maxAmountPerCall: tUSD / 10n,
        prices: defaultPrices,
        ...(priceTableCommitted ? { priceTableCommitted } : {}),
      }),
    )

    if (mode === 'prepaid')
      for (const [i, client] of clients.entries()) {
        await client.rma.deposit(userDeposit)
        log(`▸ user ${i + 1} deposits ${fmtToken(userDeposit)} tUSD to its prepaid balance`)
      }

    const facts: OffChainFacts = {
      calls: 0,
      streamingCalls: 0,
      inputTokens: 0,
      outputTokens: 0,
      spend: [],
      receiptsVerified: new Map(),
      callsPerUser: new Map(),
      stakes: supporters.map((s, i) => ({
        address: s.address as Address,
        amount: stakes[i]!,
        exited: i === 1,
      })),
    }

    for (let epoch = 1; epoch <= epochs; epoch++) {
      log(`▸ epoch ${epoch}: ${userCount} API users call the model through withRMA`)
      const spend = new Map<string, bigint>()
      await Promise.all(
        users.map(async (user, i) => {
          const results = await runCalls(clients[i]!, callsOf(i, epoch), {
            model: standInModelName,
            log: (line) => log(`  [user ${i + 1}] ${line}`),
          })
          const key = user.address.toLowerCase()
          for (const { record, stream } of results) {
            facts.calls++
            if (stream) facts.streamingCalls++
            facts.inputTokens += record.receipt.inputTokens
            facts.outputTokens += record.receipt.outputTokens
            spend.set(key, (spend.get(key) ?? 0n) + record.receipt.amount)
            facts.receiptsVerified.set(key, (facts.receiptsVerified.get(key) ?? 0) + 1)
            facts.callsPerUser.set(key, (facts.callsPerUser.get(key) ?? 0) + 1)
          }
        }),
      )
      facts.spend.push(spend)
      let gasUsed: bigint
      if (prepaidSettlement) {
        // Every receipt acked (the last ones by POST /rma/acks), then the vouchers settled.
        await Promise.all(clients.map((c) => c.rma.flushAcks()))
        const settled = await prepaidSettlement.settleOnce()
        if (settled.status !== 'settled' || !('mode' in settled))
          throw new Error(`Epoch ${epoch} did not settle: ${JSON.stringify(settled.status)}.`)
        gasUsed = settled.gasUsed
        log(
          `▸ epoch ${epoch} settled: ${settled.settledVouchers} vouchers debited ${settled.revenue}, the users' 15% credited back to their balances (gas ${gasUsed})`,
        )
        for (const [i, client] of clients.entries()) {
          const b = await client.rma.balance()
          log(
            `  user ${i + 1}: balance ${fmtToken(b.balance)} tUSD, debited ${b.debited}, rebates credited ${b.rebatesCredited}, pending ${b.pending}`,
          )
        }
      } else {
        gasUsed = (await job!.confirmed(epoch, 60_000)).gasUsed
      }
      log(`▸ epoch ${epoch} settled (gas ${gasUsed}); supporters' rewards grow:`)
      for (const [i, config] of supporterConfigs.entries()) {
        const s = await supporterStatus(config)
        log(`  supporter ${i + 1}: stake ${fmtToken(s.active)} tUSD, claimable ${s.claimable}`)
      }
      if (job && epoch === 1 && epochs > 1) {
        const early = await claimRebate({
          providerURL: provider.url,
          signer: users[0]!,
          settlementContract,
          assetId,
        })
        log(
          `▸ user 1 claims early: ${early?.amount ?? 0n} for epoch(s) ${early?.epochs.join(', ') ?? '-'} (proofs from /rma/proofs, checked against each epoch's root on chain)`,
        )
      }
    }
    await Promise.all(clients.map((c) => c.rma.flushAcks()))
    await job?.stop()

    log('▸ every role claims')
    for (const [i, user] of job ? users.entries() : []) {
      const claimed = await claimRebate({
        providerURL: provider.url,
        signer: user,
        settlementContract,
        assetId,
      })
      log(
        `  user ${i + 1} claimed ${claimed?.amount ?? 0n} for epoch(s) ${claimed?.epochs.join(', ') ?? '-'} in one claimRebates transaction`,
      )
    }
    for (const [i, config] of supporterConfigs.entries())
      log(`  supporter ${i + 1} claimed its rewards: ${(await claimRewards(config)).amount}`)
    await (job?.settlement ?? prepaidSettlement!).claimIssuer({ signer: issuer })
    log('  issuer claimed its share (plus rounding dust)')
    await (await asset.settlement.connect(owner).claimProtocol(assetId)).wait()
    log('  protocol (the contract owner) claimed its fee')

    log(
      '▸ supporter 2 requests unstake, waits out the 7-day delay (evm_increaseTime) and withdraws',
    )
    const exit = await unstakeAndWithdraw(supporterConfigs[1]!, {
      waitUntil: async (end) => {
        const now = (await anvil.provider.getBlock('latest'))!.timestamp
        await anvil.increaseTime(Math.max(0, end - now))
      },
    })
    log(`  supporter 2 withdrew ${fmtToken(exit.amount)} tUSD`)

    if (mode === 'prepaid') {
      const leaving = clients[0]!
      const { balance } = await leaving.rma.balance()
      const delay = Number(await asset.settlement.withdrawalDelay())
      log(
        `▸ user 1 requests withdrawal of its ${fmtToken(balance)} tUSD, waits out the ${delay / 3600} h delay (evm_increaseTime) and withdraws`,
      )
      await leaving.rma.requestWithdrawal(balance)
      await anvil.increaseTime(delay)
      await leaving.rma.withdraw()
      log(`  user 1 withdrew ${fmtToken(balance)} tUSD; its prepaid balance is now 0`)
    }

    log('▸ reading everything back from the chain')
    const chain = await readChainReport({
      provider: anvil.provider,
      settlement: asset.settlement,
      token: asset.token,
      assetId,
      issuer: issuer.address as Address,
      owner: owner.address as Address,
      supporters: supporters.map((s) => s.address as Address),
      users: users.map((u) => u.address as Address),
      meter: meter.address as Address,
      settler: settler.address as Address,
    })
    const checks = checkReport(chain, facts, mode)
    return {
      ok: checks.every((c) => c.ok),
      mode,
      chainId: anvil.chainId,
      asset: {
        assetId,
        settlementContract,
        tokenAddress: asset.tokenAddress,
        symbol: asset.symbol,
        decimals: asset.decimals,
      },
      shares: demoShares,
      facts,
      chain,
      checks,
      durationMs: Date.now() - started,
    }
  }

  try {
    return await Promise.race([main(), aborted])
  } finally {
    await cleanup.run()
  }
}

/** User i's calls in an epoch: i + 1 of them, JSON and streams alternating; user 3 streams without usage. */
function callsOf(user: number, epoch: number): Call[] {
  return Array.from({ length: user + 1 }, (_, j) => ({
    prompt: `${prompts[(user * 3 + j + epoch * 2) % prompts.length]} (user ${user + 1}, epoch ${epoch}, call ${j + 1})`,
    stream: (user + j + epoch) % 2 === 1,
    includeUsage: user !== 2,
  }))
}

/** Closers run once, newest first, whatever fails. */
function createCleanup() {
  const closers: (() => Promise<unknown>)[] = []
  let running: Promise<void> | undefined
  return {
    add(closer: () => Promise<unknown>) {
      // Started after an interruption: stop it at once.
      if (running) void closer().catch(() => {})
      else closers.push(closer)
    },
    run() {
      running ??= (async () => {
        for (const closer of closers.reverse()) await closer().catch(() => {})
      })()
      return running
    },
  }
}

/** Base units of a 6-decimal token as a decimal string: 1500000n → "1.5". */
export function fmtToken(amount: bigint): string {
  const whole = (amount / tUSD).toLocaleString('en-US')
  const fraction = (amount % tUSD).toString().padStart(6, '0').replace(/0+$/, '')
  return fraction ? `${whole}.${fraction}` : `${whole}`
}
