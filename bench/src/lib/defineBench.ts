import type { Figure } from './figure.js'

export type BenchContext = {
  /** Smaller samples and fewer rounds, for a run of a few minutes on a laptop or CI. */
  quick: boolean
  /** Progress for people watching (stderr); results belong in the returned figures. */
  log: (message: string) => void
}

/** A benchmark module's default export. */
export type Bench = (context: BenchContext) => Promise<Figure[]>

/**
 * Types a benchmark: the default export of every `src/**\/*.bench.ts`, found and run by
 * `src/run.ts`.
 *
 * @example
 * export default defineBench(async ({ quick }) => [figure({ ... })])
 */
export function defineBench(bench: Bench): Bench {
  return bench
}
