import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  encodeAttestation,
  encodeReceipt,
  findFraud,
  type Hex,
  hashAttestation,
  hashReceipt,
  signAttestation,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { Wallet } from 'ethers'
import { expect, test } from 'vitest'
import { createFileLedgerStore } from './createFileLedgerStore.js'
import { createLedger } from './createLedger.js'

const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5e'.repeat(20)}` })
const meter = Wallet.createRandom()
const user = Wallet.createRandom()
const assetId: Hex = `0x${'a5'.repeat(32)}`

test('the evidence of a fraud (the attestation signed, the refused receipt) survives a restart and still proves it', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'rma-evidence-')), 'ledger.jsonl')
  const attestation = await signAttestation({
    signer: user,
    domain,
    attestation: {
      assetId,
      user: user.address.toLowerCase() as Address,
      requestHash: `0x${'01'.repeat(32)}`,
      nonce: 1n,
      expiry: 2_000_000_000,
      maxAmount: 100n,
    },
  })
  const overcharged = await signReceipt({
    signer: meter,
    domain,
    receipt: {
      assetId,
      meter: meter.address.toLowerCase() as Address,
      user: user.address.toLowerCase() as Address,
      seq: 1,
      prev: zeroHash,
      requestHash: attestation.requestHash,
      responseHash: `0x${'02'.repeat(32)}`,
      model: 'gpt-4o-mini',
      inputTokens: 100,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 5,
      reasoningTokens: 0,
      usageSource: 'reported',
      amount: 175n,
      cumulativeAmount: 175n,
      priceTable: zeroHash,
      attestation: hashAttestation(attestation, domain),
      timestamp: 1_760_000_000,
    },
  })
  const first = createLedger({ domain, store: createFileLedgerStore({ path }), onError: () => {} })
  await first.ready
  first.addAttestation(encodeAttestation(attestation))
  // Refused by the client's spend-cap check: kept as a rejection, with the receipt.
  first.reject({
    id: 'call-1',
    requestId: undefined,
    encoded: encodeReceipt(overcharged),
    code: 'SPEND_CAP_EXCEEDED',
    message: 'The receipt charges 175, above the spend cap 100.',
    at: 1,
  })
  // A missing receipt leaves no evidence, and does not break the rest.
  first.reject({
    id: 'call-2',
    requestId: undefined,
    encoded: undefined,
    code: 'RECEIPT_MISSING',
    message: 'none',
    at: 2,
  })
  await first.flushed()

  const second = createLedger({ domain, store: createFileLedgerStore({ path }), onError: () => {} })
  await second.ready
  const evidence = second.evidence()
  expect(evidence.attestations).toEqual([attestation])
  expect(evidence.receipts).toEqual([overcharged])
  expect(second.exportJSON().attestations).toEqual([encodeAttestation(attestation)])
  expect(findFraud({ domain, ...evidence })).toEqual([
    {
      kind: 'overcharge',
      receipt: overcharged,
      hash: hashReceipt(overcharged, domain),
      attestation,
      compensation: 75n,
    },
  ])
})
