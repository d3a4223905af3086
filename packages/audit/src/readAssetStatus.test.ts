import { createServer, type Server } from 'node:net'
import { splitRevenue } from '@rma/core'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { AuditError } from './errors.js'
import { readAssetStatus } from './readAssetStatus.js'
import { type AuditChain, createAuditChain } from './testing/createAuditChain.js'

let chain: AuditChain
/** Σ of each epoch's receipts, as the meter signed them. */
const revenues: bigint[] = []

beforeAll(async () => {
  chain = await createAuditChain()
  const [a, b] = chain.users as [Wallet, Wallet]
  const [s1, s2] = chain.supporters as [Wallet, Wallet]
  await (await chain.fx.settlement.connect(s1).stake(chain.assetId, 1_000_000n)).wait()
  await (await chain.fx.settlement.connect(s2).stake(chain.assetId, 3_000_000n)).wait()
  for (let epoch = 1; epoch <= 3; epoch++) {
    let sum = 0n
    for (const [user, amount] of [
      [a, 1_000n * BigInt(epoch)],
      [b, 4_321n],
    ] as const) {
      sum += (await chain.meter(user, amount)).receipt.amount
    }
    revenues.push(sum)
    await chain.settleHonest()
  }
  await chain.settlement.claimRebates(a.address as `0x${string}`)
  await (await chain.fx.settlement.connect(s1).claimRewards(chain.assetId)).wait()
  await (await chain.fx.settlement.connect(s2).requestUnstake(chain.assetId, 1_000_000n)).wait()
})

afterAll(async () => {
  await chain?.close()
})

const params = () => ({ rpcUrl: chain.rpcUrl, contract: chain.contract, assetId: chain.assetId })

test('reads every figure the chain holds, JSON-safe, and consistent with the receipts settled', async () => {
  const status = await readAssetStatus(params())
  expect(JSON.parse(JSON.stringify(status))).toEqual(status)
  const shares = chain.fx.shares
  expect(status.asset).toEqual({
    issuer: chain.fx.issuer.address.toLowerCase(),
    pendingIssuer: null,
    token: chain.fx.tokenAddress.toLowerCase(),
    settler: chain.fx.settler.address.toLowerCase(),
    shares,
    unbondingDelay: chain.fx.unbondingDelay,
    meters: [chain.fx.meter.address.toLowerCase()],
    epoch: 3,
    challengeWindow: 0,
  })
  expect(status.epochs.map((e) => [e.state, e.releasableAt])).toEqual([
    ['released', null],
    ['released', null],
    ['released', null],
  ])
  expect(status.epochs.map((e) => e.epoch)).toEqual([1, 2, 3])
  const total = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
  for (const [i, e] of status.epochs.entries()) {
    const split = splitRevenue(revenues[i]!, shares)
    expect(e.revenue).toBe(revenues[i]!.toString())
    expect(e.receiptCount).toBe(2)
    expect(e.settler).toBe(chain.fx.settler.address.toLowerCase())
    expect(e.split).toEqual({
      issuer: String(split.issuer),
      supporters: String(split.supporters),
      users: String(split.users),
      protocol: String(split.protocol),
    })
    expect(e.batchUri).toBe(`${chain.batchBaseUri}${chain.assetId}/${e.batchHash}.json`)
    for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
      total[role] += split[role]
  }
  expect(status.totals).toEqual({
    revenue: String(revenues.reduce((x, y) => x + y, 0n)),
    receiptCount: 6,
    pendingRevenue: '0',
    vetoedRevenue: '0',
  })
  for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
    expect(status.roles[role].funded).toBe(String(total[role]))
  expect(status.roles.issuer).toEqual({
    funded: String(total.issuer),
    claimed: '0',
    owed: String(total.issuer),
  })

  // The settlement client pays batches from a deposit it tops up (the settler's, by default).
  const deposited = await chain.fx.settlement.depositOf(chain.assetId, chain.fx.settler.address)
  expect(status.deposits).toBe(String(deposited))
  expect(BigInt(status.ledger)).toBe(
    BigInt(status.stake.active) +
      BigInt(status.stake.pending) +
      BigInt(status.stake.unbonding) +
      BigInt(status.deposits) +
      (['issuer', 'supporters', 'users', 'protocol'] as const).reduce(
        (s, r) => s + BigInt(status.roles[r].owed),
        0n,
      ),
  )

  // User a claimed each epoch's rebate once: the events and the books agree.
  const a = chain.users[0]!.address.toLowerCase()
  expect(status.users).toEqual([
    { address: a, claimed: status.roles.users.claimed, epochs: [1, 2, 3] },
  ])
  expect(BigInt(status.roles.users.owed)).toBe(
    BigInt(status.roles.users.funded) - BigInt(status.roles.users.claimed),
  )
  expect(status.epochs.reduce((s, e) => s + BigInt(e.rebatesClaimed), 0n)).toBe(
    BigInt(status.roles.users.claimed),
  )

  // Supporters: 1 and 3 tokens staked; the second moved 1 to unbonding.
  const [s1, s2] = status.stake.supporters
  expect(status.stake).toMatchObject({ active: '3000000', pending: '0', unbonding: '1000000' })
  expect(s1).toMatchObject({
    address: chain.supporters[0]!.address.toLowerCase(),
    active: '1000000',
    staked: '1000000',
    rewardsClaimable: '0',
  })
  expect(s2).toMatchObject({
    address: chain.supporters[1]!.address.toLowerCase(),
    active: '2000000',
    unbonding: '1000000',
    staked: '3000000',
    rewardsClaimed: '0',
  })
  expect(BigInt(s1!.rewardsClaimed)).toBeGreaterThan(0n)
  expect(BigInt(s1!.rewardsEarned) + BigInt(s2!.rewardsEarned)).toBeLessThanOrEqual(
    BigInt(status.roles.supporters.funded),
  )
  expect(s1!.yieldBps).toBe(Number((BigInt(s1!.rewardsEarned) * 10_000n) / 1_000_000n))
  expect(BigInt(status.roles.supporters.claimed)).toBe(BigInt(s1!.rewardsClaimed))
})

/** Bad input: each a typed error of one sentence, in bounded time. */
test('an unreachable RPC', async () => {
  const port = await freePort()
  await expect(
    readAssetStatus({ ...params(), rpcUrl: `http://127.0.0.1:${port}` }),
  ).rejects.toMatchObject({
    name: 'RpcUnreachableError',
    code: 'RPC_UNREACHABLE',
    shortMessage: `The RPC at http://127.0.0.1:${port} cannot be reached (ECONNREFUSED): start the node or fix --rpc.`,
  })
})

test('an RPC that accepts the connection and never answers times out', async () => {
  const silent: Server = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`
  try {
    await expect(
      readAssetStatus({ ...params(), rpcUrl: url, rpcTimeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'RPC_TIMEOUT',
      shortMessage: `The RPC at ${url} did not answer eth_chainId within 0.3 s: check --rpc and that the node is up.`,
    })
  } finally {
    silent.close()
  }
})

test('not an http URL', async () => {
  await expect(
    readAssetStatus({ ...params(), rpcUrl: 'ws://127.0.0.1:8545' }),
  ).rejects.toMatchObject({
    code: 'INVALID_OPTIONS',
  })
})

test('the wrong chain id', async () => {
  await expect(readAssetStatus({ ...params(), chainId: 8453 })).rejects.toMatchObject({
    code: 'WRONG_CHAIN',
    shortMessage: `The RPC at ${chain.rpcUrl} serves chain 31337, not chain 8453: point --rpc at a node of chain 8453 or fix the chain id.`,
  })
})

test('no code at the contract address', async () => {
  const eoa = Wallet.createRandom().address.toLowerCase()
  await expect(readAssetStatus({ ...params(), contract: eoa })).rejects.toMatchObject({
    code: 'NO_CONTRACT',
    shortMessage: `No contract is deployed at ${eoa} on chain 31337: check the contract address and that --rpc is the chain it was deployed on.`,
  })
})

test('a contract that is not RMASettlement', async () => {
  const token = chain.fx.tokenAddress.toLowerCase()
  await expect(readAssetStatus({ ...params(), contract: token })).rejects.toMatchObject({
    code: 'NOT_SETTLEMENT',
    shortMessage: `The contract at ${token} does not answer getAsset as RMASettlement does: check the contract address.`,
  })
})

test('an asset that is not registered', async () => {
  const assetId = `0x${'42'.repeat(32)}`
  const error = await readAssetStatus({ ...params(), assetId }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(AuditError)
  expect(error).toMatchObject({
    code: 'UNKNOWN_ASSET',
    shortMessage: `Asset ${assetId} is not registered on ${chain.contract}: check the asset id, or register it first (rma asset register).`,
  })
})

test('malformed addresses and ids are refused before any request', async () => {
  await expect(readAssetStatus({ ...params(), contract: '0x1234' })).rejects.toMatchObject({
    code: 'INVALID_OPTIONS',
  })
  await expect(readAssetStatus({ ...params(), assetId: 'model-1' })).rejects.toMatchObject({
    code: 'INVALID_OPTIONS',
  })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
