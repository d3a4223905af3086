import { measureThroughput, type Task } from './measureThroughput.js'
import { median } from './median.js'

export type CompareThroughputOptions = {
  /** Timed rounds per task. Odd counts give a true median. */
  rounds: number
  /** Time budget of one round of one task. */
  minTimeMs: number
  /** Untimed calls of every task before the first round. */
  warmupMs: number
}

export type TaskInput = Task | { task: Task; opsPerCall: number }

export type TaskStats = {
  /** Median over the rounds. */
  opsPerSecond: number
  /** Each round's rate, in round order. */
  rounds: number[]
}

export type Comparison<names extends string> = Record<names, TaskStats>

/**
 * Measures several tasks in interleaved rounds: every round times each task once, and the
 * order rotates from round to round, so a noisy neighbour, a CPU frequency change or a GC
 * pause hits every side alike. Each task is warmed up before the first round.
 */
export async function compareThroughput<names extends string>(
  tasks: Record<names, TaskInput>,
  options: CompareThroughputOptions,
): Promise<Comparison<names>> {
  const names = Object.keys(tasks) as names[]
  const normalised = names.map((name) => normalise(tasks[name]))
  for (const { task, opsPerCall } of normalised)
    await measureThroughput(task, { minTimeMs: options.warmupMs, opsPerCall })
  const rates: number[][] = names.map(() => [])
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const index = (round + k) % names.length
      const { task, opsPerCall } = normalised[index]!
      const { opsPerSecond } = await measureThroughput(task, {
        minTimeMs: options.minTimeMs,
        opsPerCall,
      })
      rates[index]!.push(opsPerSecond)
    }
  }
  const out = {} as Comparison<names>
  names.forEach((name, i) => {
    out[name] = { opsPerSecond: median(rates[i]!), rounds: rates[i]! }
  })
  return out
}

function normalise(input: TaskInput): { task: Task; opsPerCall: number } {
  return typeof input === 'function' ? { task: input, opsPerCall: 1 } : input
}
