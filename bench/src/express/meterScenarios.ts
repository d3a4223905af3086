import { modelFrameGapMs, modelLatencyMs } from './loadProtocol.js'
import type { ServerKind } from './serverKinds.js'

/** Which upstream a scenario's servers stand in front of. */
export type UpstreamName = 'fast' | 'model'

export type Scenario = {
  label: string
  stream: boolean
  concurrency: number
  upstream: UpstreamName
  /** The servers measured in the scenario's interleaved rounds. */
  sides: ServerKind[]
}

export const modelLabel = `upstream answering after ${modelLatencyMs} ms, SSE frames ${modelFrameGapMs} ms apart`

const fast = (stream: boolean, concurrency: number): Scenario => ({
  label: `chat ${stream ? 'SSE' : 'JSON'}, c=${concurrency}`,
  stream,
  concurrency,
  upstream: 'fast',
  // The pass-through is the floor of the CPU figures, which are judged at c=64.
  sides:
    concurrency === 64
      ? ['unmetered', 'metered', 'portkey', 'passthrough']
      : ['unmetered', 'metered', 'portkey'],
})

export const scenarios: Scenario[] = [
  fast(false, 1),
  fast(false, 16),
  fast(false, 64),
  fast(true, 1),
  fast(true, 16),
  fast(true, 64),
  {
    label: `chat JSON, c=64, ${modelLabel}`,
    stream: false,
    concurrency: 64,
    upstream: 'model',
    sides: ['unmetered', 'metered'],
  },
  {
    label: `chat SSE, c=64, ${modelLabel}`,
    stream: true,
    concurrency: 64,
    upstream: 'model',
    sides: ['unmetered', 'metered'],
  },
]
