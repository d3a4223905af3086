import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { createRandom } from '../fixtures/createRandom.js'
import { chatBody } from './chatBody.js'
import { createAttester } from './createAttester.js'
import type { ServerKind } from './serverKinds.js'
import { startLoadWorker } from './startLoadWorker.js'
import { startServerProcess } from './startServerProcess.js'
import { summariseCpuProfile } from './summariseCpuProfile.js'

// `tsx src/express/profileMeter.ts [json|sse] [seconds] [top]`: the bench's own scenario (fast
// upstream, 64 in flight, fresh attestations) against the metered and the unmetered server,
// each in a child process whose serving thread is profiled (V8's CPU profiler, as
// `node --cpu-prof` runs it, but over the timed run only, after a warm-up); prints the
// profile's top entries by self time, in µs per call, and the whole process's CPU per call.
// Not a bench file: it judges nothing.

const stream = process.argv[2] === 'sse'
const seconds = Number(process.argv[3] ?? 5)
const top = Number(process.argv[4] ?? 25)
const body = chatBody(stream)
const load = await startLoadWorker()
const random = createRandom(7)
const users = Array.from({ length: 64 }, () => new Wallet(random.hex(32)))
const attest = createAttester(users)

for (const kind of ['metered', 'unmetered'] as ServerKind[]) {
  const dir = mkdtempSync(join(tmpdir(), `rma-prof-${kind}-`))
  const server = await startServerProcess(kind, load.upstreamUrl)
  const request = async (ms: number, count: number) => ({
    origin: server.url,
    path: '/v1/chat/completions',
    body,
    commonHeaders: { 'content-type': 'application/json' },
    perRequestHeader:
      kind === 'metered' ? await attest(count, body) : { ...(await attest(64, body)), cycle: true },
    concurrency: 64,
    durationMs: ms,
  })
  await load.run(await request(2_000, 12_000))
  const timed = await request(seconds * 1000, seconds * 6_000)
  const profiling = await server.profile!()
  const before = server.cpuMs()
  const result = await load.run(timed)
  const cpuMs = server.cpuMs() - before
  const path = join(dir, `${kind}.cpuprofile`)
  await profiling.stop(path)
  await server.close()
  const calls = result.completed
  console.log(
    `\n## ${kind}, chat ${stream ? 'SSE' : 'JSON'}, c=64: ${calls} calls in ${seconds} s, ` +
      `process CPU ${((cpuMs / calls) * 1000).toFixed(0)} µs/call (all threads)`,
  )
  const { totalMs, entries, areas } = summariseCpuProfile(path)
  console.log(`\nserving thread by area: ${totalMs.toFixed(0)} ms sampled`)
  console.log('| self µs/call | share | area |\n|---:|---:|---|')
  for (const a of areas.slice(0, 14))
    console.log(
      `| ${((a.selfMs / calls) * 1000).toFixed(1)} | ${(a.share * 100).toFixed(1)}% | ${a.area} |`,
    )
  console.log(`\nserving thread: ${totalMs.toFixed(0)} ms sampled`)
  console.log('| self µs/call | share | function | where |\n|---:|---:|---|---|')
  for (const e of entries.slice(0, top))
    console.log(
      `| ${((e.selfMs / calls) * 1000).toFixed(1)} | ${(e.share * 100).toFixed(1)}% | ${e.name} | ${e.where} |`,
    )
  rmSync(dir, { recursive: true, force: true })
}
await load.close()
