/**
 * The settlement job as a process: `pnpm --filter @rma/example-settlement-job start`.
 * Configuration comes from the environment (see README.md); the settler key is never printed.
 * Ctrl-C stops after the round in progress.
 */
import { settlementJobConfigFromEnv } from './settlementJobConfigFromEnv.js'
import { startSettlementJob } from './startSettlementJob.js'

try {
  const config = await settlementJobConfigFromEnv(process.env)
  const settler = await config.signer.getAddress()
  console.log(
    `[settlement] settler ${settler}: every ${config.every / 1000} s, at least ${config.minReceipts} receipt(s) per batch`,
  )
  const job = await startSettlementJob(config)
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      console.log(`[settlement] ${signal}: finishing the round in progress`)
      job
        .stop()
        .then(() => config.provider.destroy())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        )
    })
} catch (error) {
  console.error(`[settlement] ${error instanceof Error ? error.message : error}`)
  process.exitCode = 1
}
