import { readFileSync } from 'node:fs'

type ProfileNode = {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
type CpuProfile = {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export type ProfileEntry = { name: string; where: string; selfMs: number; share: number }

/**
 * The functions of a V8 `.cpuprofile` (from `node --cpu-prof`) by self time, merged by name
 * and place (every call site of one function is one entry); idle and GC kept as V8 names them
 * (`(idle)`, `(garbage collector)`, `(program)`). The inspector session that took the profile
 * (`node:inspector`) is left out.
 */
export function summariseCpuProfile(path: string): {
  totalMs: number
  entries: ProfileEntry[]
  /** The same self time by area: a package, node's internals, native code, GC, idle. */
  areas: { area: string; selfMs: number; share: number }[]
} {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const merged = new Map<string, ProfileEntry>()
  let totalUs = 0
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    // The profiler's own session (`node:inspector`), not the server's work.
    if (url === 'node:inspector') continue
    totalUs += us
    const where = url ? `${shorten(url)}:${lineNumber + 1}` : ''
    const name = functionName || '(anonymous)'
    const key = `${name} ${where}`
    const entry = merged.get(key) ?? { name, where, selfMs: 0, share: 0 }
    entry.selfMs += us / 1000
    merged.set(key, entry)
  }
  const totalMs = totalUs / 1000
  const entries = [...merged.values()]
    .map((e) => ({ ...e, share: e.selfMs / totalMs }))
    .sort((a, b) => b.selfMs - a.selfMs)
  const byArea = new Map<string, number>()
  for (const e of entries) byArea.set(areaOf(e), (byArea.get(areaOf(e)) ?? 0) + e.selfMs)
  const areas = [...byArea]
    .map(([area, selfMs]) => ({ area, selfMs, share: selfMs / totalMs }))
    .sort((a, b) => b.selfMs - a.selfMs)
  return { totalMs, entries, areas }
}

function areaOf(entry: ProfileEntry): string {
  const { where, name } = entry
  if (!where) return name.startsWith('(') ? name : `native: ${name}`
  if (where.startsWith('node:')) return 'node internals'
  if (where.startsWith('packages/')) return where.split('/').slice(0, 2).join('/')
  if (where.startsWith('wasm')) return 'wasm'
  const [first, second] = where.split('/')
  return first!.startsWith('@') ? `${first}/${second}` : first!
}

/** A file URL as its package and path: `express/lib/router.js`, `@rma/express src/meter.ts`. */
function shorten(url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length)
  const packages = path.indexOf('/packages/')
  if (packages >= 0) return path.slice(packages + 1)
  return path.startsWith('node:') ? path : path.split('/').slice(-2).join('/')
}
