import { expect, test } from 'vitest'
import { compileContracts } from '../scripts/compileContracts.js'
import {
  feeOnTransferTokenAbi,
  feeOnTransferTokenBytecode,
} from './artifacts/FeeOnTransferToken.js'
import {
  phantomPermitTokenAbi,
  phantomPermitTokenBytecode,
} from './artifacts/PhantomPermitToken.js'
import { rebasingTokenAbi, rebasingTokenBytecode } from './artifacts/RebasingToken.js'
import { rmaPenaltyAbi, rmaPenaltyBytecode } from './artifacts/RMAPenalty.js'
import {
  rmaSettlementAbi,
  rmaSettlementBytecode,
  rmaSettlementLinkReferences,
} from './artifacts/RMASettlement.js'
import { testTokenAbi, testTokenBytecode } from './artifacts/TestToken.js'

// solc-js compiles the contracts again (a few seconds): the committed artifacts must be exactly
// what the committed sources produce. After editing a .sol file, run `pnpm compile`.
test('the committed artifacts equal a fresh compile of contracts/', () => {
  const { contracts } = compileContracts()
  const fresh = Object.fromEntries(contracts.map((c) => [c.name, c]))
  expect(rmaSettlementAbi).toEqual(fresh.RMASettlement?.abi)
  expect(rmaSettlementBytecode).toBe(fresh.RMASettlement?.bytecode)
  expect(rmaSettlementLinkReferences).toEqual(fresh.RMASettlement?.linkReferences)
  expect(rmaPenaltyAbi).toEqual(fresh.RMAPenalty?.abi)
  expect(rmaPenaltyBytecode).toBe(fresh.RMAPenalty?.bytecode)
  expect(testTokenAbi).toEqual(fresh.TestToken?.abi)
  expect(testTokenBytecode).toBe(fresh.TestToken?.bytecode)
  expect(feeOnTransferTokenAbi).toEqual(fresh.FeeOnTransferToken?.abi)
  expect(feeOnTransferTokenBytecode).toBe(fresh.FeeOnTransferToken?.bytecode)
  expect(rebasingTokenAbi).toEqual(fresh.RebasingToken?.abi)
  expect(rebasingTokenBytecode).toBe(fresh.RebasingToken?.bytecode)
  expect(phantomPermitTokenAbi).toEqual(fresh.PhantomPermitToken?.abi)
  expect(phantomPermitTokenBytecode).toBe(fresh.PhantomPermitToken?.bytecode)
}, 120_000)
