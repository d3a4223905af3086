import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const packageDir = fileURLToPath(new URL('../..', import.meta.url))

/** Runs `test-fixtures/<script>.ts` under Node with tsx, collecting complete stdout lines. */
export function runFixture(
  script: string,
  args: string[],
): {
  child: ChildProcess
  lines: string[]
  exited: Promise<{ code: number | null; stderr: string }>
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `test-fixtures/${script}.ts`, ...args],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()!
    lines.push(...parts)
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stderr }))
  })
  return { child, lines, exited }
}

/** Resolves once `lines` holds at least `count` lines; rejects if the child exits first. */
export async function waitForLines(
  run: ReturnType<typeof runFixture>,
  count: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void run.exited.then(() => {
    exited = true
  })
  while (run.lines.length < count) {
    if (exited) throw new Error(`child exited early: ${(await run.exited).stderr}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${run.lines.length} lines`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
