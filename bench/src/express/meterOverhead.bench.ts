import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  encodeAttestation,
  type ReceiptStore,
  signAttestation,
} from '@rma/core'
import { openaiProxy } from '@rma/express'
import {
  assetId,
  chainId,
  createMeteredApp,
  type FakeUpstream,
  type MeteredApp,
  settlementContract,
} from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import { keccak256, toUtf8Bytes, Wallet } from 'ethers'
import express from 'express'
import { createRandom } from '../fixtures/createRandom.js'
import { defineBench } from '../lib/defineBench.js'
import type { Figure } from '../lib/figure.js'
import type { LoadRequest } from './loadProtocol.js'
import { measureRequiredWork } from './measureRequiredWork.js'
import { ceilingFigure, fmt, round3, scenarioFigures } from './meterFigures.js'
import { type AppName, appNames, custodialScenario, scenarios } from './meterScenarios.js'
import { type ServerLoadResult, startLoadWorker } from './startLoadWorker.js'
import { summarise, throughputOf } from './summariseRuns.js'

/**
 * What rmaMeter costs a provider: the same OpenAI-compatible proxy with and without the meter,
 * in front of the same fast local upstream, at 1 and at 64 requests in flight, for chat JSON
 * and chat SSE. The candidate is `createMeteredApp` (rmaMeter + rmaRouter + openaiProxy,
 * receipts in a SQLite file, fsynced); the baseline is express.json() + openaiProxy with the
 * same proxy options (the meter reads and parses the body itself; without it the proxy needs
 * a body parser). Every metered request carries a fresh attestation signed over its exact body
 * bytes, as @rma/client sends them, so verification (ecrecover) is part of the price; a
 * custodial variant (`identify`, no attestation) shows the meter without it.
 *
 * Threads: both servers run on this (main) thread, which serves and does nothing else while a
 * run is timed. The fake upstream and the closed-loop load generator share a worker thread
 * (their own event loop), so on 2 cores the server gets one core and the load the other.
 * Putting the upstream on the server's loop would add the same cost to both sides and hide
 * the overhead; a third thread would make three busy threads share two cores. Each run records
 * the event-loop utilisation of both threads: the server's near 1 and the worker's below it
 * means the server, not the load generator, is what limits a run.
 *
 * Two kinds of informational figures go with them. A ceiling per fast-upstream scenario: the
 * best ratio any meter could reach that verifies the attestation before forwarding, signs the
 * receipt once usage is known and delivers it after its SQLite commit, computed from those
 * steps' costs measured in this run. And the same proxies against an upstream that answers
 * after `modelLatencyMs`, like a fast model, to show what a provider sees.
 */
export default defineBench(async ({ quick, log }) => {
  const rounds = quick ? 3 : 5
  const durationMs = quick ? 1_000 : 2_500
  const warmupMs = quick ? 600 : 1_500

  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-meter-'))
  // Group commits run synchronously on the server's thread: their time blocks its event loop.
  const commits = { count: 0, receipts: 0, ms: 0 }
  const store = createSqliteStore({
    path: join(dir, 'receipts.db'),
    onCommit: ({ receipts, durationMs }) => {
      commits.count++
      commits.receipts += receipts
      commits.ms += durationMs
    },
  })
  const load = await startLoadWorker()
  const upstreamAt = (url: string): FakeUpstream => ({
    url,
    requests: [],
    cancelled: 0,
    answered: 0,
    close: async () => {},
  })
  const upstream = upstreamAt(load.upstreamUrl)
  const apps: Record<AppName, MeteredApp> = {
    attested: await createMeteredApp({ store, upstream }),
    custodial: await createMeteredApp({
      store,
      upstream,
      meter: { identify: (req) => req.get('x-rma-user') as Address | undefined },
    }),
    model: await createMeteredApp({ store, upstream: upstreamAt(load.modelUpstreamUrl) }),
  }
  const plainProxies = {
    fast: await createPlainProxy(upstream.url),
    model: await createPlainProxy(load.modelUpstreamUrl),
  }
  const random = createRandom(7)
  const users = Array.from({ length: 64 }, () => new Wallet(random.hex(32)))
  const attest = createAttester(users)
  const required = await measureRequiredWork(random, quick)
  log(
    `required per call: verify attestation ${fmt(required.verifyMs)} ms, sign receipt ${fmt(required.signMs)} ms`,
  )

  const figures: Figure[] = []
  const metered: Record<AppName, number> = { attested: 0, custodial: 0, model: 0 }
  try {
    for (const scenario of scenarios) {
      const app = apps[scenario.app]
      const plain = scenario.app === 'model' ? plainProxies.model : plainProxies.fast
      const body = chatBody(scenario.stream)
      const common: Record<string, string> = { 'content-type': 'application/json' }
      const userHeader = (i: number) => users[i % users.length]!.address.toLowerCase()
      // A custodial client names itself with a header; both servers get the same headers.
      const perUser = { name: 'x-rma-user', values: users.map((_, i) => userHeader(i)) }
      const expectHeader = scenario.stream ? 'rma-receipt-id' : 'rma-receipt'

      // Same answer from both: status 200, the receipt header, the same body bytes.
      const checkHeaders = custodialScenario(scenario) ? perUser : await attest(1, body)
      const check = (origin: string, header?: string) =>
        load.run({
          origin,
          path: '/v1/chat/completions',
          body,
          commonHeaders: common,
          perRequestHeader: checkHeaders,
          concurrency: 1,
          durationMs: 10_000,
          maxRequests: 1,
          expectHeader: header,
        })
      const plainCheck = await check(plain.url)
      const meteredCheck = await check(app.url, expectHeader)
      metered[scenario.app] += meteredCheck.completed
      assertClean('unmetered check', plainCheck)
      assertClean('metered check', meteredCheck)
      if (plainCheck.lastBodyBytes !== meteredCheck.lastBodyBytes)
        throw new Error(
          `${scenario.label}: metered body ${meteredCheck.lastBodyBytes} bytes, unmetered ${plainCheck.lastBodyBytes}`,
        )
      const expectBytes = plainCheck.lastBodyBytes

      const candidateRequest = async (ms: number, rate: number): Promise<LoadRequest> => ({
        origin: app.url,
        path: '/v1/chat/completions',
        body,
        commonHeaders: common,
        perRequestHeader: custodialScenario(scenario)
          ? { ...perUser, cycle: true }
          : await attest(Math.ceil((rate * ms * 1.5) / 1000) + scenario.concurrency * 2, body),
        concurrency: scenario.concurrency,
        durationMs: ms,
        expectHeader,
        expectBytes,
      })
      // The baseline gets the same bytes on the wire: the same kind of header, never checked.
      const baselineRequest = (ms: number): LoadRequest => ({
        origin: plain.url,
        path: '/v1/chat/completions',
        body,
        commonHeaders: common,
        perRequestHeader: {
          ...(custodialScenario(scenario) ? perUser : checkHeaders),
          cycle: true,
        },
        concurrency: scenario.concurrency,
        durationMs: ms,
        expectBytes,
      })

      // Warm-up, which also sizes the attestations a timed run needs.
      const firstRate = scenario.concurrency === 1 ? 400 : 1_000
      const warm = await load.run(await candidateRequest(warmupMs, firstRate))
      metered[scenario.app] += warm.completed
      assertClean('metered warm-up', warm)
      assertClean('unmetered warm-up', await load.run(baselineRequest(warmupMs)))
      let rate = throughputOf(warm)

      const candidate: ServerLoadResult[] = []
      const baseline: ServerLoadResult[] = []
      const commitsBefore = { ...commits }
      for (let round = 0; round < rounds; round++) {
        const request = await candidateRequest(durationMs, rate)
        const runCandidate = async () => {
          const result = await load.run(request)
          metered[scenario.app] += result.completed
          assertClean('metered', result)
          if (result.elapsedMs < durationMs * 0.9)
            log(`${scenario.label}: attestations ran out after ${Math.round(result.elapsedMs)} ms`)
          candidate.push(result)
          rate = Math.max(rate, throughputOf(result))
        }
        const runBaseline = async () => {
          const result = await load.run(baselineRequest(durationMs))
          assertClean('unmetered', result)
          baseline.push(result)
        }
        if (round % 2 === 0) {
          await runBaseline()
          await runCandidate()
        } else {
          await runCandidate()
          await runBaseline()
        }
      }
      const summary = summarise(candidate, baseline)
      // Only candidate runs write receipts, so the difference covers exactly its timed rounds.
      const commitsMade = commits.count - commitsBefore.count
      const receiptsCommitted = commits.receipts - commitsBefore.receipts
      const sqliteGroupCommits = {
        commits: commitsMade,
        receiptsPerCommit: round3(receiptsCommitted / commitsMade),
        msPerCommit: round3((commits.ms - commitsBefore.ms) / commitsMade),
        msPerReceipt: round3((commits.ms - commitsBefore.ms) / receiptsCommitted),
      }
      log(
        `${scenario.label}: ${Math.round(summary.candidate.throughput)} vs ${Math.round(summary.baseline.throughput)} req/s, ` +
          `p50 ${fmt(summary.candidate.p50)} vs ${fmt(summary.baseline.p50)} ms, ` +
          `server CPU ${fmt(summary.candidate.serverCpuMsPerRequest)} vs ${fmt(summary.baseline.serverCpuMsPerRequest)} ms/req, ` +
          `ELU server ${fmt(summary.candidate.serverElu)}/${fmt(summary.baseline.serverElu)} worker ${fmt(summary.candidate.workerElu)}/${fmt(summary.baseline.workerElu)}`,
      )
      figures.push(...scenarioFigures(scenario, summary, rounds, sqliteGroupCommits))
      if (scenario.app !== 'model')
        figures.push(ceilingFigure(scenario, summary, required, sqliteGroupCommits.msPerCommit))
    }

    // Every metered call stored exactly one receipt, as the next link of its user's chain.
    for (const name of appNames) await assertStored(store, apps[name], users, metered[name])
  } finally {
    for (const name of appNames) await apps[name].close()
    await plainProxies.fast.close()
    await plainProxies.model.close()
    await load.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return figures
})

/** A chat request of a realistic size (about 1.5 KB: a system prompt and a question). */
function chatBody(stream: boolean): string {
  const system =
    'You are a careful assistant for a logistics company. Answer in plain English, cite the ' +
    'shipment ids you rely on, never invent tracking numbers, and say so when you do not know. '
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: system.repeat(6) },
      { role: 'user', content: 'Where is shipment 4471-AB and when will it reach Rotterdam?' },
    ],
    temperature: 0.2,
    max_tokens: 256,
    ...(stream ? { stream: true } : {}),
  })
}

/** Signs `count` fresh attestations over `body`, round-robin over `users`, as @rma/client does. */
function createAttester(users: Wallet[]) {
  const domain = createDomain({ chainId, verifyingContract: settlementContract })
  let nonce = 0n
  let turn = 0
  return async (count: number, body: string) => {
    const requestHash = keccak256(toUtf8Bytes(body)) as `0x${string}`
    // Within the meter's maxAttestationTtl (600 s): valid for the whole scenario.
    const expiry = Math.floor(Date.now() / 1000) + 300
    const values: string[] = []
    for (let i = 0; i < count; i++) {
      const signer = users[turn++ % users.length]!
      const attestation = await signAttestation({
        signer,
        domain,
        attestation: {
          assetId,
          user: signer.address as Address,
          requestHash,
          nonce: ++nonce,
          expiry,
          maxAmount: 10n ** 12n,
        },
      })
      values.push(encodeAttestation(attestation))
    }
    return { name: 'rma-attestation', values }
  }
}

/** The baseline: the same proxy without the meter; express.json() gives it the parsed body. */
async function createPlainProxy(upstreamUrl: string) {
  const app = express()
  app.use(express.json({ limit: '10mb' }))
  app.post(
    '/v1/*path',
    openaiProxy({ upstream: `${upstreamUrl}/v1`, apiKey: 'sk-upstream', unmetered: 'forward' }),
  )
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

function assertClean(what: string, result: ServerLoadResult): void {
  if (result.failureCount > 0)
    throw new Error(`${what}: ${result.failureCount} bad answers, e.g. ${result.failures[0]}`)
  if (result.completed === 0) throw new Error(`${what}: no request completed`)
}

async function assertStored(
  store: ReceiptStore,
  app: MeteredApp,
  users: Wallet[],
  expected: number,
): Promise<void> {
  let stored = 0
  const meter = app.meterWallet.address as Address
  for (const user of users)
    stored += (await store.head({ assetId, meter, user: user.address as Address })).seq
  if (stored !== expected)
    throw new Error(`${expected} metered calls answered but ${stored} receipts stored`)
}
