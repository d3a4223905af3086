import { Worker } from 'node:worker_threads'
import type { FromWorker, LoadRequest, LoadResult } from './loadProtocol.js'

export type LoadWorker = {
  /** The fake OpenAI upstream the worker serves, for the proxies under test. */
  upstreamUrl: string
  /** The same answers paced like a model's (`modelLatencyMs`, `modelFrameGapMs`). */
  modelUpstreamUrl: string
  /** Runs one closed-loop load run against a server. */
  run(request: LoadRequest): Promise<LoadResult>
  close(): Promise<void>
}

/** Starts `loadWorker.ts` on its own thread and waits for its upstreams to listen. */
export async function startLoadWorker(): Promise<LoadWorker> {
  const worker = new Worker(new URL('./loadWorker.ts', import.meta.url))
  const pending = new Map<
    number,
    { resolve: (r: LoadResult) => void; reject: (e: Error) => void }
  >()
  let nextId = 0
  let onClosed: (() => void) | undefined
  const urls = await new Promise<{ upstreamUrl: string; modelUpstreamUrl: string }>(
    (resolve, reject) => {
      worker.once('error', reject)
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') resolve(message)
        else if (message.type === 'closed') onClosed?.()
        else {
          const waiter = pending.get(message.id)
          pending.delete(message.id)
          if (message.type === 'result') waiter?.resolve(message.result)
          else waiter?.reject(new Error(`load worker: ${message.message}`))
        }
      })
    },
  )
  worker.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error)
    pending.clear()
  })
  return {
    upstreamUrl: urls.upstreamUrl,
    modelUpstreamUrl: urls.modelUpstreamUrl,
    run(request) {
      const id = nextId++
      return new Promise<LoadResult>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ type: 'run', id, request })
      })
    },
    async close() {
      await new Promise<void>((resolve) => {
        onClosed = resolve
        worker.postMessage({ type: 'close' })
      })
      await worker.terminate()
    },
  }
}
