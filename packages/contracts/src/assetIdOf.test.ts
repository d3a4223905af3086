import { AbiCoder, keccak256, toUtf8Bytes } from 'ethers'
import { expect, test } from 'vitest'
import { useSettlementFixture } from '../test/helpers.js'
import { assetIdOf } from './assetIdOf.js'

const ctx = useSettlementFixture()

test('equals the contract’s assetIdOf and keccak256(abi.encode(issuer, salt))', async () => {
  const { settlement, issuer, others } = ctx.fx
  const salt = keccak256(toUtf8Bytes('my-model'))
  const expected = keccak256(
    AbiCoder.defaultAbiCoder().encode(['address', 'bytes32'], [issuer.address, salt]),
  )
  expect(assetIdOf(issuer.address, salt)).toBe(expected)
  expect(await settlement.assetIdOf(issuer.address, salt)).toBe(expected)
  // Another issuer, same salt: another id.
  expect(assetIdOf(others[0]!.address, salt)).not.toBe(expected)
  expect(await settlement.assetIdOf(others[0]!.address, salt)).toBe(
    assetIdOf(others[0]!.address, salt),
  )
})
