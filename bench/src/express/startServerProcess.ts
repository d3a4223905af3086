import { type ChildProcess, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { processCpuMs } from './processCpuMs.js'
import type { FromServer, ServerKind, ToServer } from './serverKinds.js'

export type ServerProcess = {
  kind: ServerKind
  url: string
  pid: number
  /** CPU time of the whole process (every thread) so far, in ms. */
  cpuMs(): number
  /** Headers every request to this server carries (Portkey: the provider and the upstream). */
  headers: Record<string, string>
  /** Metered only: receipts stored on the chains of these users. */
  storedReceipts(users: string[]): Promise<number>
  /** Own servers only: profiles the main thread from now until `stop` (see serverProcess.ts). */
  profile?(): Promise<{ stop(path: string): Promise<void> }>
  close(): Promise<void>
}

export type StartServerOptions = {
  /** Node flags for the child, e.g. `--cpu-prof` (not for Portkey). */
  execArgv?: string[]
}

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/** Starts a server of `kind` in a child process, in front of `upstreamUrl`, and waits for it. */
export async function startServerProcess(
  kind: ServerKind,
  upstreamUrl: string,
  options: StartServerOptions = {},
): Promise<ServerProcess> {
  return kind === 'portkey'
    ? startPortkey(upstreamUrl)
    : startOwn(kind, upstreamUrl, options.execArgv ?? [])
}

async function startOwn(kind: ServerKind, upstreamUrl: string, execArgv: string[]) {
  const child = fork(join(here, 'serverProcess.ts'), [kind, upstreamUrl], {
    execArgv: ['--import', import.meta.resolve('tsx'), ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const answers: ((message: FromServer) => void)[] = []
  const ready = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before ready`)))
    child.on('message', (message: FromServer) => {
      if (message.type === 'ready') resolve(message.url)
      else answers.shift()?.(message)
    })
  })
  const url = await ready
  const ask = (message: ToServer) =>
    new Promise<FromServer>((resolve) => {
      answers.push(resolve)
      child.send(message)
    })
  return {
    kind,
    url,
    pid: child.pid!,
    cpuMs: () => processCpuMs(child.pid!),
    headers: {},
    async storedReceipts(users: string[]) {
      const answer = await ask({ type: 'stored', users })
      return answer.type === 'stored' ? answer.receipts : 0
    },
    async profile() {
      await ask({ type: 'profileStart' })
      return { stop: async (path: string) => void (await ask({ type: 'profileStop', path })) }
    },
    async close() {
      child.removeAllListeners('exit')
      const exited = once(child, 'exit')
      child.send({ type: 'close' } satisfies ToServer)
      await exited
    },
  } satisfies ServerProcess
}

/** Portkey's gateway as its package starts it (`build/start-server.js --headless`), offline. */
async function startPortkey(upstreamUrl: string): Promise<ServerProcess> {
  const entry = join(
    dirname(require.resolve('@portkey-ai/gateway/package.json')),
    'build',
    'start-server.js',
  )
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', join(here, 'portkeyFetch.mjs'), entry, `--port=${port}`, '--headless'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  let started = false
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Portkey exited (${code}): ${output}`)))
    // Both pipes stay drained (a full pipe would block it); kept only until it is ready.
    const keep = (chunk: Buffer) => {
      if (started) return
      output += chunk.toString()
      if (output.includes('Ready for connections')) resolve()
    }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
  })
  started = true
  child.removeAllListeners('exit')
  return {
    kind: 'portkey',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    cpuMs: () => processCpuMs(child.pid!),
    headers: {
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstreamUrl}/v1`,
      authorization: 'Bearer sk-upstream',
    },
    storedReceipts: async () => 0,
    async close() {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
