import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import type { Address, Hex } from '@rma/core'
import { attestingFetch, createMeteredApp, type MeteredApp } from '@rma/express/testing'
import { createBatchFileHandler, createRebateProver } from '@rma/settlement'
import { createSqliteStore } from '@rma/store'
import type { Wallet } from 'ethers'

export const demoShares = { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 }

export type Deployment = {
  anvil: Anvil
  fx: SettlementFixture
  app: MeteredApp
  dir: string
  batchDir: string
  supporter: Wallet
  users: Wallet[]
  /** A funded account with no role in the asset. */
  stranger: Wallet
  /** What every `rma` run of the deployment reads: the examples' variables. */
  env: Record<string, string>
  /** Makes `count` paid calls through the provider as `user` (each signs a receipt into the store). */
  call(user: Wallet, count: number): Promise<void>
  close(): Promise<void>
}

/**
 * A demo-like deployment on anvil: token, settlement contract and asset (issuer 50%,
 * supporters 30%, users 15%, protocol 5%); a provider (rmaMeter, rmaRouter serving proofs and
 * batch files, openaiProxy before a fake upstream) on a SQLite store; funded supporter and
 * users. Nothing is staked or settled yet: the tests do that with `rma`.
 *
 * @example
 * const d = await startDeployment()
 * await runRma(['stake', '1000000'], d.env)
 */
export async function startDeployment(): Promise<Deployment> {
  const dir = await mkdtemp(join(tmpdir(), 'rma-cli-'))
  const anvil = await startAnvil()
  const fx = await deploySettlementFixture(anvil, { shares: demoShares })
  const [supporter, user1, user2, , , stranger] = fx.others
  const batchDir = join(dir, 'batches')
  const dbPath = join(dir, 'receipts.db')
  const store = createSqliteStore({ path: dbPath })
  const assetId = fx.assetId as Hex
  const settlementContract = fx.settlementAddress as Address
  const prover = createRebateProver({
    store,
    contract: settlementContract,
    runner: anvil.provider,
    assetId,
    batchDir,
  })
  const app = await createMeteredApp({
    store,
    meterKey: fx.meter.privateKey,
    meter: { assetId, chainId: anvil.chainId, settlementContract },
    router: { batches: createBatchFileHandler({ batchDir }), proofs: prover.proofFor },
  })
  const target = { assetId, chainId: anvil.chainId, settlementContract }
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
  return {
    anvil,
    fx,
    app,
    dir,
    batchDir,
    supporter: supporter!,
    users: [user1!, user2!],
    stranger: stranger!,
    env: {
      RMA_RPC_URL: anvil.url,
      RMA_CHAIN_ID: String(anvil.chainId),
      RMA_SETTLEMENT_CONTRACT: settlementContract,
      RMA_ASSET_ID: assetId,
      RMA_METER_PRIVATE_KEY: fx.meter.privateKey,
      RMA_SETTLER_PRIVATE_KEY: fx.settler.privateKey,
      RMA_SUPPORTER_PRIVATE_KEY: supporter!.privateKey,
      RMA_USER_PRIVATE_KEY: user1!.privateKey,
      RMA_ISSUER_PRIVATE_KEY: fx.issuer.privateKey,
      RMA_OWNER_PRIVATE_KEY: fx.owner.privateKey,
      RMA_DB: dbPath,
      RMA_BATCH_DIR: batchDir,
      RMA_PUBLIC_URL: app.url,
      RMA_PROVIDER_URL: app.url,
    },
    async call(user, count) {
      const paid = attestingFetch(user, {}, target)
      for (let i = 0; i < count; i++) {
        const res = await paid(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        if (res.status !== 200) throw new Error(`paid call: HTTP ${res.status} ${await res.text()}`)
        await res.arrayBuffer()
      }
    },
    async close() {
      await app.close()
      await store.close()
      await anvil.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
