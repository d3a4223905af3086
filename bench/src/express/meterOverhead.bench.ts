import { Wallet } from 'ethers'
import { createRandom } from '../fixtures/createRandom.js'
import { defineBench } from '../lib/defineBench.js'
import type { Figure } from '../lib/figure.js'
import { chatBody } from './chatBody.js'
import { createAttester } from './createAttester.js'
import type { LoadRequest, LoadResult } from './loadProtocol.js'
import { scenarioFigures } from './meterFigures.js'
import { type Scenario, scenarios, type UpstreamName } from './meterScenarios.js'
import type { ServerKind } from './serverKinds.js'
import { startLoadWorker } from './startLoadWorker.js'
import { type ServerProcess, startServerProcess } from './startServerProcess.js'
import { type SideRun, sideSummary, throughputOf } from './summariseRuns.js'

/**
 * What rmaMeter costs a provider, beside what it would run instead: the same fake OpenAI
 * upstream behind an unmetered `openaiProxy`, the metered app (rmaMeter + rmaRouter +
 * openaiProxy, receipts fsynced to SQLite), Portkey's open-source gateway and a minimal
 * `node:http` pass-through, with one load generator, in interleaved rounds (every server once
 * per round, the order rotating from round to round).
 *
 * Processes and threads: each server runs in a child process of its own and does nothing
 * else, so its CPU per call is read for the whole process (`/proc/<pid>/stat`: every thread,
 * the SQLite writer and GC included). The fake upstreams and the closed-loop load generator
 * share a worker thread of this process (`loadWorker.ts`); this thread only signs attestations
 * between runs. On 2 cores the server under test gets one core and the load the other.
 *
 * Every metered request carries a fresh attestation signed over its exact body bytes, as
 * @rma/client sends them (so ecrecover is part of the price); each run gets twice as many as
 * the fastest server of the scenario could use, and a run that ran out would fail the bench.
 * The other servers get the same header bytes, never checked.
 */
export default defineBench(async ({ quick, log }) => {
  const rounds = quick ? 5 : 7
  const durationMs = quick ? 700 : 2_000
  const warmupMs = quick ? 400 : 1_500

  const load = await startLoadWorker()
  const upstreams: Record<UpstreamName, string> = {
    fast: load.upstreamUrl,
    model: load.modelUpstreamUrl,
  }
  const servers: Record<UpstreamName, Partial<Record<ServerKind, ServerProcess>>> = {
    fast: {},
    model: {},
  }
  const random = createRandom(7)
  const users = Array.from({ length: 64 }, () => new Wallet(random.hex(32)))
  const attest = createAttester(users)
  /** Metered calls answered per metered server: each must have stored one receipt. */
  const answered: Record<UpstreamName, number> = { fast: 0, model: 0 }

  const figures: Figure[] = []
  try {
    for (const scenario of scenarios)
      for (const kind of scenario.sides)
        servers[scenario.upstream][kind] ??= await startServerProcess(
          kind,
          upstreams[scenario.upstream],
        )

    for (const scenario of scenarios) {
      const group = servers[scenario.upstream]
      const runs = await runScenario(scenario, group, {
        rounds,
        durationMs,
        warmupMs,
        load,
        attest,
        onMetered: (completed) => {
          answered[scenario.upstream] += completed
        },
      })
      const line = scenario.sides
        .map((kind) => {
          const s = sideSummary(runs[kind]!)
          return `${kind} ${Math.round(s.requestsPerSecond)}/s p50 ${s.p50Ms} ms CPU ${s.serverCpuMsPerCall} ms/call`
        })
        .join(' | ')
      log(`${scenario.label}: ${line}`)
      figures.push(...scenarioFigures(scenario, runs, rounds))
    }

    // Every metered call stored exactly one receipt, as the next link of its user's chain.
    for (const name of ['fast', 'model'] as const) {
      const metered = servers[name].metered
      if (!metered) continue
      const stored = await metered.storedReceipts(users.map((u) => u.address))
      if (stored !== answered[name])
        throw new Error(`${answered[name]} metered calls answered but ${stored} receipts stored`)
    }
  } finally {
    for (const group of Object.values(servers))
      for (const server of Object.values(group)) await server.close()
    await load.close()
  }
  return figures
})

type RunContext = {
  rounds: number
  durationMs: number
  warmupMs: number
  load: Awaited<ReturnType<typeof startLoadWorker>>
  attest: ReturnType<typeof createAttester>
  onMetered(completed: number): void
}

/** Checks each server's answer, warms them up, then runs the interleaved rounds. */
async function runScenario(
  scenario: Scenario,
  group: Partial<Record<ServerKind, ServerProcess>>,
  context: RunContext,
): Promise<Partial<Record<ServerKind, SideRun[]>>> {
  const { load, attest } = context
  const body = chatBody(scenario.stream)
  const receiptHeader = scenario.stream ? 'rma-receipt-id' : 'rma-receipt'
  // Every server gets the same kind of header; only the meter reads it.
  const unchecked = await attest(64, body)
  const bytes: Partial<Record<ServerKind, number>> = {}
  /** The fastest rate any server of the scenario reached so far: sizes the attestations. */
  let fastest = scenario.concurrency === 1 ? 2_000 : 5_000

  const request = async (kind: ServerKind, ms: number, maxRequests?: number) => {
    const server = group[kind]!
    const metered = kind === 'metered'
    const count = maxRequests ?? Math.ceil((fastest * ms * 2) / 1000) + scenario.concurrency * 2
    return {
      origin: server.url,
      path: '/v1/chat/completions',
      body,
      commonHeaders: { 'content-type': 'application/json', ...server.headers },
      perRequestHeader: metered ? await attest(count, body) : { ...unchecked, cycle: true },
      concurrency: scenario.concurrency,
      durationMs: ms,
      maxRequests,
      expectHeader: metered ? receiptHeader : undefined,
      expectBytes: bytes[kind],
    } satisfies LoadRequest
  }
  const run = async (kind: ServerKind, ms: number, maxRequests?: number): Promise<SideRun> => {
    const server = group[kind]!
    const r = await request(kind, ms, maxRequests)
    const before = server.cpuMs()
    const result = await load.run(r).catch((error: unknown) => {
      throw new Error(`${scenario.label}, ${kind}: ${String(error)}`)
    })
    const serverCpuMs = server.cpuMs() - before
    assertClean(`${scenario.label}, ${kind}`, result)
    if (kind === 'metered') context.onMetered(result.completed)
    fastest = Math.max(fastest, throughputOf(result))
    return { ...result, serverCpuMs }
  }

  // One call each: status 200, the receipt header on the metered answer, its body size kept.
  for (const kind of scenario.sides) bytes[kind] = (await run(kind, 10_000, 1)).lastBodyBytes
  if (bytes.metered !== bytes.unmetered)
    throw new Error(
      `${scenario.label}: metered body ${bytes.metered} bytes, unmetered ${bytes.unmetered}`,
    )
  for (const kind of scenario.sides) await run(kind, context.warmupMs)

  const runs: Partial<Record<ServerKind, SideRun[]>> = Object.fromEntries(
    scenario.sides.map((kind) => [kind, [] as SideRun[]]),
  )
  for (let round = 0; round < context.rounds; round++) {
    const n = scenario.sides.length
    const order = scenario.sides.map((_, i) => scenario.sides[(i + round) % n]!)
    for (const kind of order) runs[kind]!.push(await run(kind, context.durationMs))
  }
  return runs
}

function assertClean(what: string, result: LoadResult): void {
  if (result.headersRanOut) throw new Error(`${what}: the attestations ran out mid-run`)
  if (result.failureCount > 0)
    throw new Error(`${what}: ${result.failureCount} bad answers, e.g. ${result.failures[0]}`)
  if (result.completed === 0) throw new Error(`${what}: no request completed`)
}
