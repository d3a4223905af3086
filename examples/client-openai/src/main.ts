/**
 * The client app as a process:
 *   pnpm --filter @rma/example-client-openai start [--stream] ["prompt" …]
 *   pnpm --filter @rma/example-client-openai start claim      (needs RMA_RPC_URL and a funded key)
 * Configuration comes from the environment (see README.md); keys are never printed.
 */
import { parseSettlementError } from '@rma/contracts'
import { claimRebate } from './claimRebate.js'
import { clientConfigFromEnv } from './clientConfigFromEnv.js'
import { runClient } from './runClient.js'

const args = process.argv.slice(2).filter((a) => a !== '--')
try {
  const config = await clientConfigFromEnv(process.env)
  const user = await config.signer.getAddress()
  if (config.throwawayKey)
    console.log(`[client] no RMA_USER_PRIVATE_KEY or RMA_USER_KEYSTORE: using a throwaway key`)
  if (args[0] === 'claim') {
    if (!config.provider) throw new Error('RMA_RPC_URL is needed to claim.')
    const claimed = await claimRebate({ ...config, signer: config.signer })
    console.log(
      claimed
        ? `[client] ${user} claimed ${claimed.amount} (epochs ${claimed.epochs.join(', ')}), gas ${claimed.gasUsed}`
        : `[client] ${user} has no rebate to claim yet`,
    )
  } else {
    const stream = args.includes('--stream')
    const prompts = args.filter((a) => a !== '--stream')
    const calls = (
      prompts.length > 0 ? prompts : ['What is a usage receipt?', 'Who gets paid for this call?']
    ).map((prompt, i) => ({ prompt, stream: stream || (prompts.length === 0 && i === 1) }))
    console.log(`[client] user ${user} calling ${config.baseURL} (${config.model})`)
    const { results, totals } = await runClient({
      ...config,
      calls,
      log: (line) => console.log(`[client] ${line}`),
    })
    for (const r of results) console.log(`[client] reply: ${r.reply}`)
    console.log(
      `[client] ${totals.calls} calls, ${totals.inputTokens} in / ${totals.outputTokens} out tokens, spent ${totals.amount} base units`,
    )
  }
  config.provider?.destroy()
} catch (error) {
  const reverted = parseSettlementError(error)
  console.error(
    `[client] ${reverted ? `the settlement contract refused: ${reverted.name}` : error instanceof Error ? error.message : error}`,
  )
  process.exitCode = 1
}
