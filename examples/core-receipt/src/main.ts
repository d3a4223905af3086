/**
 * The RMA protocol in one process, with no chain and no server: a meter prices and signs a
 * receipt per call, delivers it as a header, the API user decodes, verifies and acks it, and
 * a settler verifies the chains, splits the revenue and builds the rebate tree whose proofs a
 * user would claim with. Every figure printed is computed, and the process exits non-zero if any
 * sum does not add up.
 */
import {
  allocateProRata,
  createDomain,
  createPriceTable,
  createPriceTableRoots,
  createRebateTree,
  createReceiptsTree,
  decodeReceipt,
  encodeReceipt,
  expectedCumulativeAmount,
  type Hex,
  hashReceipt,
  parseOpenAIUsage,
  priceUsage,
  type SignedUsageReceipt,
  signAck,
  signReceipt,
  splitRevenue,
  verifyAck,
  verifyMerkleProof,
  verifyReceipt,
  verifyReceiptChain,
  zeroHash,
} from '@rma/core'
import { id, keccak256, toUtf8Bytes, Wallet } from 'ethers'

const domain = createDomain({
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
})
const assetId = id('asset:gpt-4o-mini') as Hex
const meter = Wallet.createRandom()
const users = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()]
// Payment token with 6 decimals (USDC-like): $0.15 / $0.075 / $0.60 per 1M tokens.
const prices = createPriceTable({
  models: { 'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n } },
})
const shares = { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 }

// What an OpenAI-compatible upstream reported for each call (Chat Completions and Responses API shapes).
const calls = [
  {
    user: 0,
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 1024 },
    },
  },
  {
    user: 1,
    usage: {
      input_tokens: 5400,
      output_tokens: 900,
      output_tokens_details: { reasoning_tokens: 512 },
    },
  },
  { user: 0, usage: { prompt_tokens: 80, completion_tokens: 2400 } },
  { user: 2, usage: { prompt_tokens: 20_000, completion_tokens: 150 } },
  { user: 1, usage: { prompt_tokens: 640, completion_tokens: 64 } },
]

const priceTables = createPriceTableRoots(prices)
const heads = new Map<string, { seq: number; hash: Hex; cumulativeAmount: bigint }>()
const delivered: SignedUsageReceipt[] = []
for (const [i, call] of calls.entries()) {
  const user = users[call.user]!
  // Meter: price the reported usage and sign the next receipt of this (meter, user) chain.
  const usage = parseOpenAIUsage(call.usage)
  const head = heads.get(user.address) ?? { seq: 0, hash: zeroHash, cumulativeAmount: 0n }
  const now = Math.floor(Date.now() / 1000)
  const amount = priceUsage(prices, 'gpt-4o-mini-2024-07-18', usage, { at: now })
  const receipt = await signReceipt({
    signer: meter,
    domain,
    receipt: {
      assetId,
      meter: meter.address as Hex,
      user: user.address as Hex,
      seq: head.seq + 1,
      prev: head.hash,
      requestHash: keccak256(toUtf8Bytes(`request ${i}`)) as Hex,
      responseHash: keccak256(toUtf8Bytes(`response ${i}`)) as Hex,
      model: 'gpt-4o-mini-2024-07-18',
      ...usage,
      cacheWriteTokens: usage.cacheWriteTokens ?? 0,
      usageSource: 'reported',
      amount,
      // The chain's running total: what the user's ack of this receipt will vouch for.
      cumulativeAmount: expectedCumulativeAmount(head.cumulativeAmount, amount),
      // The root of the price-table version it was priced with (what the asset commits on
      // chain), and the digest of the user's attestation (none here: zero).
      priceTable: priceTables.rootAt(now),
      attestation: zeroHash,
      timestamp: now,
    },
  })
  heads.set(user.address, {
    seq: receipt.seq,
    hash: hashReceipt(receipt, domain),
    cumulativeAmount: receipt.cumulativeAmount,
  })
  const header = encodeReceipt(receipt)

  // API user: decode the header, verify it, countersign it.
  const received = decodeReceipt(header)
  if (
    !verifyReceipt({ receipt: received, domain }) ||
    received.meter !== meter.address.toLowerCase()
  )
    throw new Error('receipt not signed by the trusted meter')
  const ack = await signAck({
    signer: user,
    domain,
    ack: {
      assetId,
      user: user.address as Hex,
      meter: meter.address as Hex,
      seq: received.seq,
      receiptHash: hashReceipt(received, domain),
      cumulativeAmount: received.cumulativeAmount,
    },
  })
  if (!verifyAck({ ack, domain })) throw new Error('ack does not verify')
  delivered.push(received)
  console.log(
    `call ${i + 1}: user ${call.user + 1} seq ${received.seq}  in ${received.inputTokens} (cached ${received.cachedInputTokens})  out ${received.outputTokens} (reasoning ${received.reasoningTokens})  amount ${received.amount}  header ${header.length} chars  acked`,
  )
}

// Settler: verify every chain, split the revenue, build both trees.
const verified = verifyReceiptChain(delivered, [meter.address as Hex], { domain })
if (!verified.valid) throw new Error(`chains invalid: ${JSON.stringify(verified.issues)}`)
const revenue = delivered.reduce((sum, r) => sum + r.amount, 0n)
const split = splitRevenue(revenue, shares)
const spend = users.map((u) =>
  delivered.filter((r) => r.user === u.address.toLowerCase()).reduce((s, r) => s + r.amount, 0n),
)
const rebates = allocateProRata(split.users, spend)
const receiptsTree = createReceiptsTree(verified.hashes as Hex[])
const rebateTree = createRebateTree(
  users.map((u, i) => ({ user: u.address as Hex, cumulativeAmount: rebates[i]! })),
)
const proofsOk = users.every((u) => {
  const entry = rebateTree.entry(u.address as Hex)
  return verifyMerkleProof({
    root: rebateTree.root,
    leaf: rebateTree.leafHash(entry),
    proof: rebateTree.getProof(entry),
  })
})

const sumParts = split.issuer + split.supporters + split.users + split.protocol
const sumRebates = rebates.reduce((a, b) => a + b, 0n)
console.log(
  `\n${verified.chains.length} chains verified with ${verified.chains.length} signature checks, ${delivered.length} receipts`,
)
console.log(
  `revenue ${revenue} base units -> issuer ${split.issuer}, supporters ${split.supporters}, users ${split.users}, protocol ${split.protocol}`,
)
console.log(`user rebates pro rata to spend ${spend.join('/')}: ${rebates.join('/')}`)
console.log(
  `receiptsRoot ${receiptsTree.root}\nrebateRoot   ${rebateTree.root} (every user's proof verifies: ${proofsOk})`,
)
const ok = sumParts === revenue && sumRebates === split.users && proofsOk
console.log(
  `check: parts sum to revenue (${sumParts} = ${revenue}) and rebates to the users' share (${sumRebates} = ${split.users}): ${ok ? 'OK' : 'MISMATCH'}`,
)
if (!ok) process.exitCode = 1
