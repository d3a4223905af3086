/**
 * `pnpm --filter @rma/example-demo chain`: a local anvil chain with the demo's asset deployed,
 * kept running until Ctrl-C, so each example can be run by hand in its own terminal.
 *
 * It writes `.rma/local-chain.env` (in the directory pnpm was started from) with the variables
 * the examples read. The keys in it are anvil's well-known development keys, public by design:
 * never send anything of value to them, never use that file's keys on a real chain. They are
 * written to the file, not printed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { startAnvil } from '@rma/contracts/testing'
import type { Address } from '@rma/core'
import { standInModelName } from '@rma/example-provider-express'
import { deployDemoAsset } from './deployDemoAsset.js'
import { demoShares } from './runDemo.js'

const root = resolve(process.env.INIT_CWD ?? process.cwd(), '.rma')
const envFile = join(root, 'local-chain.env')
const port = Number(process.env.ANVIL_PORT ?? 8545)

const local = join(root, 'local')
// Receipts and batches of an earlier chain would not match this one.
await rm(local, { recursive: true, force: true })
const anvil = await startAnvil({ port })
const [owner, issuer, settler, meter, supporter, user] = anvil.accounts
if (!owner || !issuer || !settler || !meter || !supporter || !user)
  throw new Error('anvil did not give enough accounts.')
const asset = await deployDemoAsset({
  owner,
  issuer,
  settler,
  meter: meter.address as Address,
  shares: demoShares,
  unbondingDelay: 7 * 24 * 3600,
  model: standInModelName,
  mint: [
    { to: settler.address as Address, amount: 1_000_000_000n },
    { to: supporter.address as Address, amount: 10_000_000_000n },
  ],
})
await mkdir(root, { recursive: true })
await writeFile(
  envFile,
  [
    '# anvil development keys: public, for this local chain only',
    `RMA_RPC_URL=${anvil.url}`,
    `RMA_CHAIN_ID=${anvil.chainId}`,
    `RMA_SETTLEMENT_CONTRACT=${asset.settlementContract}`,
    `RMA_ASSET_ID=${asset.assetId}`,
    `RMA_DB=${join(local, 'receipts.db')}`,
    `RMA_BATCH_DIR=${join(local, 'batches')}`,
    `RMA_METER_PRIVATE_KEY=${meter.privateKey}`,
    `RMA_SETTLER_PRIVATE_KEY=${settler.privateKey}`,
    `RMA_SUPPORTER_PRIVATE_KEY=${supporter.privateKey}`,
    `RMA_USER_PRIVATE_KEY=${user.privateKey}`,
    'RMA_SETTLE_EVERY=5',
    '',
  ].join('\n'),
  { mode: 0o600 },
)
console.log(`anvil at ${anvil.url}: settlement contract ${asset.settlementContract}`)
console.log(`asset ${asset.assetId} (issuer 50%, supporters 30%, users 15%, protocol 5%)`)
console.log(`meter ${meter.address}, settler ${settler.address}`)
console.log(`supporter ${supporter.address} (10,000 tUSD), user ${user.address}`)
console.log(`\nwrote ${envFile}; in each terminal:  set -a; . ${envFile}; set +a`)
console.log('then see the README: provider, supporter stake, client calls, settlement job, claims')
console.log('Ctrl-C stops the chain')

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    Promise.all([
      anvil.stop(),
      rm(envFile, { force: true }),
      rm(local, { recursive: true, force: true }),
    ]).then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
