import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { createMeteredApp } from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { defineBench } from '../lib/defineBench.js'
import { ratioFigure } from '../lib/ratioFigure.js'
import type { AttackKind, FromAttackWorker, ToAttackWorker } from './attackWorker.js'

/** A worker of attackWorker.ts and a way to ask it one thing at a time. */
async function startWorker(role: 'honest' | 'attacker') {
  const worker = new Worker(new URL('./attackWorker.ts', import.meta.url), { workerData: { role } })
  const [ready] = (await once(worker, 'message')) as [FromAttackWorker & { type: 'ready' }]
  const ask = <T extends FromAttackWorker['type']>(message: ToAttackWorker, answer?: T) =>
    new Promise<Extract<FromAttackWorker, { type: T }>>((resolve) => {
      if (!answer) {
        worker.postMessage(message)
        return resolve(undefined as never)
      }
      const onMessage = (reply: FromAttackWorker) => {
        if (reply.type !== answer) return
        worker.off('message', onMessage)
        resolve(reply as Extract<FromAttackWorker, { type: T }>)
      }
      worker.on('message', onMessage)
      worker.postMessage(message)
    })
  return { worker, upstreamUrl: ready.upstreamUrl, ask }
}

/**
 * Honest throughput of the metered server while attackers run, over the same server's honest
 * throughput alone, in interleaved rounds (baseline, then each attack, rotating): 4 clients
 * sending unsigned 10 MiB bodies, and 2 clients sending attested 8 MiB stream prompts that
 * they abort before the first byte of the answer. Target ≥ 0.8 each (issue 12).
 */
export default defineBench(async ({ quick, log }) => {
  const honestWorker = await startWorker('honest')
  const attacker = await startWorker('attacker')
  const sink = new Worker(new URL('./attackSinkWorker.ts', import.meta.url))
  const [{ url: sinkUrl }] = (await once(sink, 'message')) as [{ url: string }]
  const app = await createMeteredApp({
    store: createMemoryStore(),
    upstream: {
      url: honestWorker.upstreamUrl!,
      requests: [],
      cancelled: 0,
      answered: 0,
      close: async () => {},
    } as never,
  })
  const ms = quick ? 1500 : 3000
  const rounds = quick ? 3 : 5
  const concurrency = 8
  const attacks: { kind: AttackKind; clients: number }[] = [
    { kind: 'unsigned-10MiB', clients: 4 },
    { kind: 'aborted-8MiB-stream', clients: 2 },
  ]
  // `ceiling:` sides run the same attack against the sink instead of the meter.
  type Side = 'baseline' | AttackKind | `ceiling:${AttackKind}`
  const sides: Side[] = [
    'baseline',
    ...attacks.map((a) => a.kind),
    ...attacks.map((a) => `ceiling:${a.kind}` as const),
  ]
  const rates: Record<Side, number[]> = {
    baseline: [],
    'unsigned-10MiB': [],
    'aborted-8MiB-stream': [],
    'ceiling:unsigned-10MiB': [],
    'ceiling:aborted-8MiB-stream': [],
  }
  const attackSent: Record<AttackKind, number[]> = {
    'unsigned-10MiB': [],
    'aborted-8MiB-stream': [],
  }
  const honestRun = async () => {
    const result = await honestWorker.ask(
      { type: 'honest', origin: app.url, ms, concurrency },
      'honest',
    )
    if (result.failed > 0) log(`${result.failed} honest calls failed`)
    return result.completed / (ms / 1000)
  }
  try {
    await honestRun() // warm-up: tokenizer, JIT, connections
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so drift and neighbours hit every side alike.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length]!
        const atSink = side.startsWith('ceiling:')
        const spec = attacks.find((a) => a.kind === side.replace('ceiling:', ''))
        if (spec)
          await attacker.ask({
            type: 'attack',
            kind: spec.kind,
            origin: atSink ? sinkUrl : app.url,
            clients: spec.clients,
          })
        const rate = await honestRun()
        if (spec) {
          const { sent } = await attacker.ask({ type: 'stop' }, 'stopped')
          if (!atSink) attackSent[spec.kind].push(sent)
        }
        rates[side].push(rate)
        log(`round ${round + 1} ${side}: ${rate.toFixed(0)} honest calls/s`)
      }
    }
  } finally {
    await app.close()
    await honestWorker.worker.terminate()
    await attacker.worker.terminate()
    await sink.terminate()
  }
  const stats = (side: Side) => ({
    opsPerSecond: [...rates[side]].sort((a, b) => a - b)[Math.floor(rates[side].length / 2)]!,
    rounds: rates[side],
  })
  return [
    ratioFigure({
      name: 'honest throughput while 4 clients send unsigned 10 MiB bodies',
      candidate: stats('unsigned-10MiB'),
      baseline: stats('baseline'),
      baselineLabel: 'the same metered server unattacked',
      opName: 'calls',
      target: 0.8,
      detail: { attackRequestsPerRound: attackSent['unsigned-10MiB'], concurrency, roundMs: ms },
    }),
    ratioFigure({
      name: 'honest throughput while 2 clients send attested 8 MiB stream prompts aborted before the first byte',
      candidate: stats('aborted-8MiB-stream'),
      baseline: stats('baseline'),
      baselineLabel: 'the same metered server unattacked',
      opName: 'calls',
      target: 0.8,
      detail: {
        attackRequestsPerRound: attackSent['aborted-8MiB-stream'],
        concurrency,
        roundMs: ms,
      },
    }),
    ...attacks.map(({ kind, clients }) =>
      ratioFigure({
        name: `ceiling: honest throughput while the same ${clients} clients attack (${kind}) a server that does the least possible, on its own thread`,
        candidate: stats(`ceiling:${kind}`),
        baseline: stats('baseline'),
        baselineLabel: 'the same metered server unattacked',
        opName: 'calls',
        target: null,
      }),
    ),
  ]
})
