/**
 * `pnpm demo`: the whole RMA flow on a local anvil chain, then a table read back from the chain.
 * `pnpm demo -- --json`: the same result as one JSON object on stdout (progress goes to stderr).
 * Exits 1 if any check fails, 130 on Ctrl-C; everything started is stopped either way.
 */
import { demoJSON, formatReport } from './formatReport.js'
import { runDemo } from './runDemo.js'

const args = process.argv.slice(2).filter((a) => a !== '--')
const json = args.includes('--json')
const unknown = args.filter((a) => a !== '--json')
if (unknown.length > 0) {
  console.error(`Unknown argument(s): ${unknown.join(' ')}. Usage: pnpm demo [-- --json]`)
  process.exit(2)
}
// In --json mode stdout carries the JSON object and nothing else.
const log = json ? (line: string) => console.error(line) : (line: string) => console.log(line)

const controller = new AbortController()
let interrupted: NodeJS.Signals | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (interrupted) return
    interrupted = signal
    console.error(`\n${signal}: stopping everything the demo started…`)
    controller.abort()
    // If something refuses to stop, do not hang the terminal.
    setTimeout(() => process.exit(130), 10_000).unref()
  })

try {
  const result = await runDemo({ log, signal: controller.signal })
  if (json) process.stdout.write(`${JSON.stringify(demoJSON(result))}\n`)
  else console.log(formatReport(result))
  process.exitCode = result.ok ? 0 : 1
} catch (error) {
  if (interrupted) {
    console.error('demo interrupted; everything it started is stopped')
    process.exitCode = 130
  } else {
    console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`)
    process.exitCode = 1
  }
}
