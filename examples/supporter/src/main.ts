/**
 * A supporter as a command line:
 *   pnpm --filter @rma/example-supporter start status
 *   pnpm --filter @rma/example-supporter start stake 1000000000     (base units: 1,000 tUSD)
 *   pnpm --filter @rma/example-supporter start watch                (prints each reward increase)
 *   pnpm --filter @rma/example-supporter start claim
 *   pnpm --filter @rma/example-supporter start unstake [amount]     (default: all active stake)
 *   pnpm --filter @rma/example-supporter start withdraw             (after the unbonding delay)
 *   pnpm --filter @rma/example-supporter start exit                 (unstake, wait the delay, withdraw)
 * Environment: RMA_RPC_URL, RMA_SETTLEMENT_CONTRACT, RMA_ASSET_ID, and the key in
 * RMA_SUPPORTER_PRIVATE_KEY or RMA_SUPPORTER_KEYSTORE (+ RMA_SUPPORTER_KEYSTORE_PASSWORD).
 */
import { parseSettlementError } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { loadWallet } from '@rma/example-shared'
import { JsonRpcProvider } from 'ethers'
import {
  claimRewards,
  requestUnstake,
  type SupporterConfig,
  stake,
  supporterStatus,
  unstakeAndWithdraw,
  watchRewards,
  withdraw,
} from './supporter.js'

const [command = 'status', argument] = process.argv.slice(2).filter((a) => a !== '--')
const env = process.env
const log = (line: string) => console.log(`[supporter] ${line}`)

try {
  for (const name of ['RMA_RPC_URL', 'RMA_SETTLEMENT_CONTRACT', 'RMA_ASSET_ID'])
    if (!env[name]) throw new Error(`${name} is not set.`)
  const wallet = await loadWallet(env, 'RMA_SUPPORTER')
  if (!wallet) throw new Error('Set RMA_SUPPORTER_PRIVATE_KEY or RMA_SUPPORTER_KEYSTORE.')
  // No response cache: ethers reuses identical calls for 250 ms, which would give two
  // transactions sent back to back the same nonce.
  const provider = new JsonRpcProvider(env.RMA_RPC_URL, undefined, { cacheTimeout: -1 })
  const config: SupporterConfig = {
    signer: wallet.connect(provider),
    settlementContract: env.RMA_SETTLEMENT_CONTRACT as Address,
    assetId: env.RMA_ASSET_ID as Hex,
  }
  const amount = argument === undefined ? undefined : BigInt(argument)
  switch (command) {
    case 'stake':
      if (!amount) throw new Error('Usage: stake <amount in base units>')
      log(`staked ${(await stake(config, amount)).amount}`)
      break
    case 'claim':
      log(`claimed ${(await claimRewards(config)).amount}`)
      break
    case 'unstake': {
      const { amount: requested, unbondingEnd } = await requestUnstake(config, amount)
      log(
        `unbonding ${requested}, withdrawable from ${new Date(unbondingEnd * 1000).toISOString()}`,
      )
      break
    }
    case 'withdraw':
      log(`withdrew ${(await withdraw(config)).amount}`)
      break
    case 'exit': {
      const done = await unstakeAndWithdraw(config, { amount })
      log(`unstaked and withdrew ${done.amount}`)
      break
    }
    case 'watch': {
      log('watching rewards (Ctrl-C to stop)')
      const watcher = watchRewards(config, {
        every: 2_000,
        onChange: (s, gained) => log(`+${gained}: claimable ${s.claimable} on stake ${s.active}`),
        onError: (error) => log(`error: ${error.message}`),
      })
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.on(signal, () => {
          watcher.stop()
          provider.destroy()
        })
      break
    }
    default: {
      const s = await supporterStatus(config)
      log(
        `${s.address}: active ${s.active} of ${s.totalStake}, pending ${s.pending}, unbonding ${s.unbonding}${s.unbondingEnd ? ` until ${new Date(s.unbondingEnd * 1000).toISOString()}` : ''}, claimable ${s.claimable}, balance ${s.balance}`,
      )
    }
  }
  if (command !== 'watch') provider.destroy()
} catch (error) {
  // A revert carries the contract's custom error (StillUnbonding, NothingToClaim…): name it.
  const reverted = parseSettlementError(error)
  console.error(
    `[supporter] ${reverted ? `the settlement contract refused: ${reverted.name}` : error instanceof Error ? error.message : error}`,
  )
  process.exitCode = 1
}
