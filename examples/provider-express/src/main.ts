/**
 * The provider as a process: `pnpm --filter @rma/example-provider-express start`.
 * Configuration comes from the environment (see README.md); keys are never printed.
 */
import { providerConfigFromEnv } from './providerConfigFromEnv.js'
import { startProvider } from './startProvider.js'

let provider: Awaited<ReturnType<typeof startProvider>>
try {
  provider = await startProvider(providerConfigFromEnv(process.env))
} catch (error) {
  console.error(`[provider] could not start: ${error instanceof Error ? error.message : error}`)
  process.exit(1)
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    console.log(`[provider] ${signal}: closing`)
    provider.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
