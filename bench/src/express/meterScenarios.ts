import { modelLatencyMs } from './loadProtocol.js'

/** The metered servers: attested and custodial on the fast upstream, attested on the model-like one. */
export type AppName = 'attested' | 'custodial' | 'model'
export const appNames: AppName[] = ['attested', 'custodial', 'model']

export type Scenario = {
  label: string
  stream: boolean
  concurrency: number
  app: AppName
}

export const modelLabel = `upstream answering after ${modelLatencyMs} ms`
export const scenarios: Scenario[] = [
  { label: 'chat JSON, c=1', stream: false, concurrency: 1, app: 'attested' },
  { label: 'chat JSON, c=64', stream: false, concurrency: 64, app: 'attested' },
  { label: 'chat SSE, c=1', stream: true, concurrency: 1, app: 'attested' },
  { label: 'chat SSE, c=64', stream: true, concurrency: 64, app: 'attested' },
  { label: 'chat JSON, c=1, custodial identify', stream: false, concurrency: 1, app: 'custodial' },
  {
    label: 'chat JSON, c=64, custodial identify',
    stream: false,
    concurrency: 64,
    app: 'custodial',
  },
  { label: `chat JSON, c=64, ${modelLabel}`, stream: false, concurrency: 64, app: 'model' },
  { label: `chat SSE, c=64, ${modelLabel}`, stream: true, concurrency: 64, app: 'model' },
]

export function custodialScenario(scenario: Scenario): boolean {
  return scenario.app === 'custodial'
}
