import { writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { readyHashBackend, signatureBackend } from '@rma/core'
import { discoverBenches } from './lib/discoverBenches.js'
import type { Figure } from './lib/figure.js'
import { formatTable } from './lib/formatTable.js'
import { machineInfo } from './lib/machineInfo.js'

// pnpm forwards `pnpm bench -- --quick` as `-- --quick`, so flags are looked for anywhere.
const args = process.argv.slice(2).filter((arg) => arg !== '--')
const quick = args.includes('--quick')
const filters = args.filter((arg) => !arg.startsWith('-'))

const srcDir = fileURLToPath(new URL('.', import.meta.url))
const resultsPath = fileURLToPath(new URL('../results.json', import.meta.url))
const started = performance.now()
const files = await discoverBenches(srcDir, filters)
if (files.length === 0) throw new Error(`no *.bench.ts file matches ${filters.join(', ')}`)
console.error(`running ${files.length} benchmark file(s)${quick ? ' (quick)' : ''}`)

// Figures are steady-state: a running meter has its WebAssembly hasher within milliseconds of
// loading @rma/core, but a benchmark's synchronous loops would never let it finish loading.
const backends = { hash: await readyHashBackend(), signature: signatureBackend() }
console.error(`@rma/core backends: hashing ${backends.hash}, signatures ${backends.signature}`)

const figures: Figure[] = []
const failures: { file: string; error: unknown }[] = []
for (const file of files) {
  const fileStarted = performance.now()
  const log = (message: string) => console.error(`[${file}] ${message}`)
  try {
    const bench = (await import(pathToFileURL(`${srcDir}${file}`).href)).default
    if (typeof bench !== 'function') throw new Error('the default export is not a function')
    const result: Figure[] = await bench({ quick, log })
    figures.push(...result)
    log(`done in ${seconds(performance.now() - fileStarted)}`)
  } catch (error) {
    failures.push({ file, error })
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
}

const results = { machine: { ...machineInfo(quick), rmaCoreBackends: backends }, figures }
await writeFile(resultsPath, `${JSON.stringify(results, bigintAsString, 2)}\n`)

console.log(formatTable(figures))
console.log('\nbaselines:')
for (const f of figures) console.log(`  ${f.name}: ${f.baseline ?? 'none (count)'}`)
for (const { file } of failures) console.log(`\nFAILED: ${file} (see stderr)`)
console.log(
  `\n${figures.length} figures in ${seconds(performance.now() - started)}, written to bench/results.json`,
)
if (failures.length > 0) process.exitCode = 1

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
