import { rmaSettlementAbi } from '@rma/contracts'
import { Interface } from 'ethers'
import { describe, expect, test } from 'vitest'
import { decodeRevert } from './decodeRevert.js'

const token = new Interface([
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
])
const settlement = new Interface(rmaSettlementAbi)
const settler = `0x${'11'.repeat(20)}`
// ethers nests revert data like this when a signer's estimateGas fails.
const thrown = (data: string) => ({ code: 'CALL_EXCEPTION', info: { error: { data } } })

describe('decodeRevert', () => {
  test("a token's balance error says what the settler holds and needs", () => {
    const data = token.encodeErrorResult('ERC20InsufficientBalance', [settler, 0n, 513n])
    expect(decodeRevert(thrown(data), { [settler]: 'the settler' })).toEqual({
      name: 'ERC20InsufficientBalance',
      reason: 'the settler holds 0 of 513 needed',
    })
  })

  test("the contract's own errors", () => {
    const data = settlement.encodeErrorResult('BadEpoch', [7n])
    expect(decodeRevert(thrown(data))).toEqual({
      name: 'BadEpoch',
      reason: 'wrong epoch: the next epoch to settle is 7',
    })
  })

  test('an error without revert data is not a revert', () => {
    expect(decodeRevert(new Error('connect ECONNREFUSED'))).toBeUndefined()
  })
})
