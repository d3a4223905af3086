import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { rmaSettlementAbi } from '@rma/contracts'
import {
  type Address,
  createDomain,
  encodeAttestation,
  encodeReceipt,
  type Hex,
  hashAttestation,
  hashReceipt,
  signAttestation,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { Contract, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { lastLine, runRma } from './runRma.js'
import { type Deployment, startDeployment } from './startDeployment.js'

let d: Deployment
let ledger: string
let overchargedHash: Hex
const bond = 10_000n

beforeAll(async () => {
  d = await startDeployment()
  const domain = createDomain({
    chainId: d.anvil.chainId,
    verifyingContract: d.fx.settlementAddress as Address,
  })
  const user = d.users[0]!
  const meter = new Wallet(d.fx.meter.privateKey)
  const attestation = await signAttestation({
    signer: user,
    domain,
    attestation: {
      assetId: d.fx.assetId as Hex,
      user: user.address.toLowerCase() as Address,
      requestHash: `0x${'01'.repeat(32)}`,
      nonce: 1n,
      expiry: Math.floor(Date.now() / 1000) + 60,
      maxAmount: 100n,
    },
  })
  const receipt = (seq: number, amount: bigint, responseByte: string) =>
    signReceipt({
      signer: meter,
      domain,
      receipt: {
        assetId: d.fx.assetId as Hex,
        meter: meter.address.toLowerCase() as Address,
        user: user.address.toLowerCase() as Address,
        seq,
        prev: zeroHash,
        requestHash: attestation.requestHash,
        responseHash: `0x${responseByte.repeat(32)}`,
        model: 'gpt-4o-mini',
        inputTokens: 10,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 5,
        reasoningTokens: 0,
        usageSource: 'reported',
        amount,
        cumulativeAmount: amount,
        priceTable: zeroHash,
        attestation: hashAttestation(attestation, domain),
        timestamp: Math.floor(Date.now() / 1000),
      },
    })
  // Seq 1 charged 130 against a cap of 100 (refused by the client); seq 2 signed twice.
  const overcharged = await receipt(1, 130n, '02')
  overchargedHash = hashReceipt(overcharged, domain)
  const forkA = await receipt(2, 60n, '03')
  const forkB = await receipt(2, 80n, '04')
  // The user's ledger as createFileLedgerStore writes it (JSON Lines).
  ledger = join(d.dir, 'user-ledger.jsonl')
  await writeFile(
    ledger,
    [
      { type: 'attestation', encoded: encodeAttestation(attestation), at: 1 },
      {
        type: 'rejected',
        id: 'c1',
        requestId: null,
        encoded: encodeReceipt(overcharged),
        code: 'SPEND_CAP_EXCEEDED',
        message: '',
        at: 2,
      },
      {
        type: 'receipt',
        id: 'c2',
        requestId: null,
        encoded: encodeReceipt(forkA),
        checks: {},
        receivedAt: 3,
        origin: null,
      },
      {
        type: 'rejected',
        id: 'c3',
        requestId: null,
        encoded: encodeReceipt(forkB),
        code: 'CHAIN_MISMATCH',
        message: '',
        at: 4,
      },
    ]
      .map((entry) => JSON.stringify(entry))
      .join('\n'),
  )
  // A bond to pay from (anyone may post one).
  const settlement = new Contract(d.fx.settlementAddress, rmaSettlementAbi, d.fx.others[5]!)
  await (await settlement.getFunction('postBond')(d.fx.assetId, bond)).wait()
}, 60_000)
afterAll(() => d?.close())

const challengerEnv = () => ({ ...d.env, RMA_CHALLENGER_PRIVATE_KEY: d.stranger.privateKey })
const balance = (address: string) => d.fx.token.balanceOf(address)

describe('rma prove', () => {
  test('without --receipt or --all it lists what the ledger proves and sends nothing', async () => {
    const nonce = await d.anvil.provider.getTransactionCount(d.stranger.address)
    const run = await runRma(['prove', '--ledger', ledger, '--json'], challengerEnv())
    expect(run.code).toBe(0)
    const { frauds } = JSON.parse(run.stdout) as {
      frauds: { kind: string; seq: number; compensation: string }[]
    }
    expect(frauds.map((f) => [f.kind, f.seq, f.compensation])).toEqual([
      ['equivocation', 2, '80'],
      ['overcharge', 1, '30'],
    ])
    expect(await d.anvil.provider.getTransactionCount(d.stranger.address)).toBe(nonce)
  })

  test('--receipt proves that receipt’s fraud: the user compensated, the challenger paid the bounty', async () => {
    const user = d.users[0]!.address
    const [userBefore, challengerBefore] = [await balance(user), await balance(d.stranger.address)]
    const run = await runRma(
      ['prove', '--ledger', ledger, '--receipt', overchargedHash],
      challengerEnv(),
    )
    expect(run.code).toBe(0)
    expect(lastLine(run.stdout)).toMatch(
      /^proven overcharge of seq 1: compensation 30, bounty 30 \(tx 0x[0-9a-f]{64}\)$/,
    )
    expect((await balance(user)) - userBefore).toBe(30n)
    expect((await balance(d.stranger.address)) - challengerBefore).toBe(30n)
  })

  test('--all proves what is left and reports the replay as refused, in one line each', async () => {
    const run = await runRma(['prove', '--ledger', ledger, '--all'], challengerEnv())
    // One refused: exit 5, as for any refusal.
    expect(run.code).toBe(5)
    expect(run.stdout.trim().split('\n')).toHaveLength(2)
    expect(run.stdout).toMatch(/proven equivocation of seq 2: compensation 80, bounty 80/)
    expect(run.stdout).toMatch(/refused overcharge of seq 1: AlreadyProven/)
  })

  test('a replay of one receipt, a receipt that proves nothing, a bad ledger: one line each, nothing sent', async () => {
    const nonce = await d.anvil.provider.getTransactionCount(d.stranger.address)
    const replay = await runRma(
      ['prove', '--ledger', ledger, '--receipt', overchargedHash],
      challengerEnv(),
    )
    expect(replay.code).toBe(5)
    expect(lastLine(replay.stderr)).toBe(
      'rma prove: The contract refuses the overcharge proof of seq 1 (AlreadyProven); nothing was sent.',
    )
    const none = await runRma(
      ['prove', '--ledger', ledger, '--receipt', `0x${'99'.repeat(32)}`],
      challengerEnv(),
    )
    expect(none.code).toBe(5)
    expect(lastLine(none.stderr)).toBe(
      `rma prove: Receipt 0x${'99'.repeat(32)} proves no fraud; nothing was sent.`,
    )
    await writeFile(join(d.dir, 'empty.jsonl'), '\n')
    const bad = await runRma(['prove', '--ledger', join(d.dir, 'empty.jsonl')], challengerEnv())
    expect(bad.code).toBe(2)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
    expect(await d.anvil.provider.getTransactionCount(d.stranger.address)).toBe(nonce)
  })
})
