import { NonceManager, Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { SignerMismatchError } from './errors.js'
import { signAck } from './signAck.js'
import { signAttestation } from './signAttestation.js'
import { createDomain } from './typedData.js'
import type { Address, Hex, ReceiptAck, RequestAttestation } from './types.js'
import { verifyAck } from './verifyAck.js'
import { verifyAttestation } from './verifyAttestation.js'

const user = Wallet.createRandom()
const domain = createDomain({ chainId: 8453, verifyingContract: `0x${'c0'.repeat(20)}` })
const hash = (byte: string) => `0x${byte.repeat(32)}` as Hex

const attestation: RequestAttestation = {
  assetId: hash('a1'),
  user: user.address as Address,
  requestHash: hash('b2'),
  nonce: 123456789n,
  expiry: 1_800_000_000,
  maxAmount: 5_000_000n,
}

const ack: ReceiptAck = {
  assetId: hash('a1'),
  user: user.address as Address,
  meter: Wallet.createRandom().address as Address,
  seq: 17,
  receiptHash: hash('d4'),
  cumulativeAmount: 81_000n,
}

describe('signAttestation / verifyAttestation', () => {
  test('signs as the user, locally and through a signer without a local key', async () => {
    const local = await signAttestation({ attestation, signer: user, domain })
    const remote = await signAttestation({ attestation, signer: new NonceManager(user), domain })
    expect(remote.signature).toBe(local.signature)
    expect(verifyAttestation({ attestation: local, domain })).toBe(true)
  })

  test.each([
    ['assetId', hash('a2')],
    ['user', Wallet.createRandom().address],
    ['requestHash', hash('b3')],
    ['nonce', 123456790n],
    ['expiry', 1_800_000_001],
    ['maxAmount', 5_000_001n],
  ])('fails when %s is changed', async (field, value) => {
    const signed = await signAttestation({ attestation, signer: user, domain })
    expect(verifyAttestation({ attestation: { ...signed, [field]: value }, domain })).toBe(false)
  })

  test('refuses to sign for another user', async () => {
    const error = await signAttestation({
      attestation,
      signer: Wallet.createRandom(),
      domain,
    }).catch((e) => e)
    expect(error).toBeInstanceOf(SignerMismatchError)
    expect(error.code).toBe('SIGNER_MISMATCH')
  })
})

describe('signAck / verifyAck', () => {
  test('signs as the user', async () => {
    const signed = await signAck({ ack, signer: user, domain })
    expect(verifyAck({ ack: signed, domain })).toBe(true)
  })

  test.each([
    ['assetId', hash('a2')],
    ['user', Wallet.createRandom().address],
    ['meter', Wallet.createRandom().address],
    ['seq', 18],
    ['receiptHash', hash('d5')],
  ])('fails when %s is changed', async (field, value) => {
    const signed = await signAck({ ack, signer: user, domain })
    expect(verifyAck({ ack: { ...signed, [field]: value }, domain })).toBe(false)
  })
})
