#!/usr/bin/env node
/**
 * The `rma` binary: `rma <command> [options]`. See `rma --help` and README.md.
 */
import { runCli } from './runCli.js'

let stop: () => void = () => {}
const stopped = new Promise<void>((resolve) => {
  stop = resolve
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop())

runCli(process.argv.slice(2), { stopped }).then(
  // Exit at once: an idle keep-alive socket or a closed store's worker must not hold the
  // process (stdout and stderr are synchronous for files and pipes on Linux and macOS).
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`rma: ${error instanceof Error ? error.message.split('\n')[0] : error}\n`)
    process.exit(1)
  },
)
