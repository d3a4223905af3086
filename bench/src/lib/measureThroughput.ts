/** One unit of work. It may return a promise, which is awaited before the next call. */
export type Task = () => unknown

export type MeasureThroughputOptions = {
  /** Keep calling until this much time has passed (at least one call is always made). */
  minTimeMs: number
  /** Calls made before timing starts, for the JIT and caches. Default: none. */
  warmupMs?: number
  /** Operations done by one call, when a call processes a whole batch. Default 1. */
  opsPerCall?: number
}

export type Throughput = {
  /** Operations per second over the timed calls. */
  opsPerSecond: number
  /** Operations timed. */
  ops: number
  elapsedMs: number
}

/**
 * Calls `task` repeatedly for a time budget and reports operations per second. The clock is
 * read once per batch of calls, and the batch grows until one batch takes about a twentieth of
 * the budget, so reading the clock costs the same tiny share for every task. A task that
 * returns a promise is awaited; a synchronous task never pays for an `await`.
 */
export async function measureThroughput(
  task: Task,
  options: MeasureThroughputOptions,
): Promise<Throughput> {
  const { minTimeMs, warmupMs = 0, opsPerCall = 1 } = options
  if (warmupMs > 0) await runFor(task, warmupMs)
  const { calls, elapsedMs } = await runFor(task, minTimeMs)
  const ops = calls * opsPerCall
  return { opsPerSecond: (ops / elapsedMs) * 1000, ops, elapsedMs }
}

async function runFor(task: Task, budgetMs: number): Promise<{ calls: number; elapsedMs: number }> {
  const start = performance.now()
  // The first call tells whether the task is async, and is timed like the others.
  const first = task()
  const isAsync = isPromiseLike(first)
  if (isAsync) await first
  let calls = 1
  let elapsedMs = performance.now() - start
  const target = budgetMs / 20
  let batch = 1
  while (elapsedMs < budgetMs) {
    const batchStart = performance.now()
    if (isAsync) for (let i = 0; i < batch; i++) await task()
    else for (let i = 0; i < batch; i++) task()
    calls += batch
    const now = performance.now()
    elapsedMs = now - start
    if (now - batchStart < target) batch *= 2
  }
  return { calls, elapsedMs }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'
}
