import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../dist/main.js')

export type RmaRun = { code: number | null; stdout: string; stderr: string; ms: number }

/**
 * Runs the built `rma` binary as a child process with exactly `env` (plus PATH), as a user
 * would; kills it after `killAfterMs` so a hang fails the test instead of stalling it.
 *
 * @example
 * const { code, stdout } = await runRma(['doctor', '--json'], env)
 */
export function runRma(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { killAfterMs?: number; cwd?: string } = {},
): Promise<RmaRun> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, ...env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** The last line of stderr: where `rma` prints its one-line error. */
export const lastLine = (text: string) => text.trimEnd().split('\n').at(-1) ?? ''
