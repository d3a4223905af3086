import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { getReceipt, withRMA } from '@rma/client'
import type { Address } from '@rma/core'
import {
  assetId,
  chainId,
  createMeteredApp,
  prices,
  settlementContract,
} from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import OpenAI from 'openai'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'
import { ratioOf } from '../lib/ratioOf.js'

/**
 * What withRMA costs an API user per call: the real OpenAI SDK, bare and wrapped, against the
 * same metered server (createMeteredApp: rmaMeter + rmaRouter + openaiProxy + fake upstream,
 * memory store), one call at a time, chat JSON and chat SSE.
 *
 * The server meters both: the bare client is identified by an API key (the meter's custodial
 * `identify`), the wrapped one by its attestations. So both calls are priced, signed as
 * receipts and stored the same way, and the difference is exactly what RMA attestation adds:
 * on the client, signing the attestation and the ack, hashing body and response, verifying
 * the receipt's signature, chain and price, stripping the inline frame from streams; on the
 * server, verifying the attestation (one ecrecover) and, for streams, writing the frame.
 *
 * Threads: the server (and its upstream) runs on a worker thread started from this same file,
 * the clients on the main thread, so on 2 cores the client's CPU and the server's do not share
 * an event loop; calls are sequential, so each call's latency is client + network + server.
 * The figure is informational (no target: the issue sets none); the detail also gives the
 * client thread's CPU per call for both clients.
 */
export default defineBench(async ({ quick, log }) => {
  const server = await startServer()
  try {
    const user = Wallet.createRandom() as unknown as Wallet
    const baseURL = `${server.url}/v1`
    const bare = new OpenAI({ baseURL, apiKey: bareKey, maxRetries: 0 })
    const wrapped = withRMA(new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 }), {
      signer: user,
      assetId,
      chainId,
      settlementContract,
      meters: [server.meter],
      maxAmountPerCall: 10n ** 9n,
      prices,
    })
    let mismatches = 0
    wrapped.rma.events.on('mismatch', () => mismatches++)
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }] }
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream);
    }

    // Same results first: both answer, and the wrapped call's receipt passes every check.
    const [a, b] = await Promise.all([
      bare.chat.completions.create(chat),
      wrapped.chat.completions.create(chat).withResponse(),
    ])
    if (a.choices[0]?.message.content !== b.data.choices[0]?.message.content)
      throw new Error('bare and wrapped clients disagree')
    const { checks } = await getReceipt(b.response)
    if (checks.usage !== 'matched' || checks.price !== 'matched')
      throw new Error(`receipt checks: ${JSON.stringify(checks)}`)

    log('withRMA: JSON and SSE calls, bare vs wrapped')
    const options = {
      rounds: quick ? 5 : 9,
      minTimeMs: quick ? 400 : 1_200,
      warmupMs: quick ? 400 : 1_000,
    }
    const stats = await compareThroughput(
      {
        wrappedJson: () => wrapped.chat.completions.create(chat),
        bareJson: () => bare.chat.completions.create(chat),
        wrappedStream: async () =>
          drain(await wrapped.chat.completions.create({ ...chat, stream: true })),
        bareStream: async () =>
          drain(await bare.chat.completions.create({ ...chat, stream: true })),
      },
      options,
    )
    await wrapped.rma.settled()
    if (mismatches > 0) throw new Error(`${mismatches} receipts failed a check`)

    const calls = quick ? 100 : 300
    const cpu = {
      wrappedJson: await clientCpuPerCall(calls, () => wrapped.chat.completions.create(chat)),
      bareJson: await clientCpuPerCall(calls, () => bare.chat.completions.create(chat)),
    }
    const ms = (rate: number) => Math.round((1000 / rate) * 1000) / 1000
    const make = (kind: 'JSON' | 'SSE', c: keyof typeof stats, base: keyof typeof stats) =>
      figure({
        name: `withRMA chat ${kind} calls per second (1 in flight)`,
        value: Math.round(ratioOf(stats[c], stats[base]) * 1000) / 1000,
        unit: 'x',
        baseline: `bare openai ${openaiVersion()} client, same metered server (${Math.round(stats[base].opsPerSecond)} calls/s)`,
        better: 'higher',
        target: null,
        detail: {
          candidateOpsPerSecond: Math.round(stats[c].opsPerSecond),
          baselineOpsPerSecond: Math.round(stats[base].opsPerSecond),
          candidateMsPerCall: ms(stats[c].opsPerSecond),
          baselineMsPerCall: ms(stats[base].opsPerSecond),
          addedMsPerCall:
            Math.round((ms(stats[c].opsPerSecond) - ms(stats[base].opsPerSecond)) * 1000) / 1000,
          candidateRounds: stats[c].rounds.map(Math.round),
          baselineRounds: stats[base].rounds.map(Math.round),
          ...(kind === 'JSON'
            ? {
                clientCpuMsPerCallWrapped: cpu.wrappedJson,
                clientCpuMsPerCallBare: cpu.bareJson,
              }
            : {}),
          receiptsChecked: wrapped.rma.ledger.list().length,
        },
      })
    return [make('JSON', 'wrappedJson', 'bareJson'), make('SSE', 'wrappedStream', 'bareStream')]
  } finally {
    await server.close()
  }
})

const bareKey = 'sk-bench-bare'
const bareUser = `0x${'b0'.repeat(20)}` as Address
const role = 'rma-client-bench-server'

/** This thread's CPU time per call over `calls` sequential calls, in ms. */
async function clientCpuPerCall(calls: number, call: () => Promise<unknown>): Promise<number> {
  const before = process.threadCpuUsage()
  for (let i = 0; i < calls; i++) await call()
  const used = process.threadCpuUsage(before)
  return Math.round(((used.user + used.system) / 1000 / calls) * 1000) / 1000
}

function openaiVersion(): string {
  return (OpenAI as unknown as { VERSION?: string }).VERSION ?? ''
}

/** Starts the metered server on a worker thread running this file. */
async function startServer(): Promise<{ url: string; meter: Address; close(): Promise<void> }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role } })
  const ready = await new Promise<{ url: string; meter: Address }>((resolve, reject) => {
    worker.once('error', reject)
    worker.once('message', resolve)
  })
  return {
    ...ready,
    close: async () => {
      worker.postMessage('close')
      await new Promise((resolve) => worker.once('exit', resolve))
    },
  }
}

// The worker side: the metered app, which identifies the bare client by its API key.
if (!isMainThread && (workerData as { role?: string } | undefined)?.role === role) {
  const app = await createMeteredApp({
    store: createMemoryStore(),
    meter: {
      identify: (req) => (req.get('authorization') === `Bearer ${bareKey}` ? bareUser : undefined),
    },
  })
  parentPort!.postMessage({ url: app.url, meter: app.meterWallet.address })
  parentPort!.once('message', async () => {
    await app.close()
    process.exit(0)
  })
}
