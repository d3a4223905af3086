import { InvalidFieldError } from '@rma/core'
import { expect, test } from 'vitest'
import { storedRebateRoot } from './storedRebateRoot.js'

test('keeps the first 20 bytes, lowercased, and zeroes the other 12', () => {
  const root = `0xABCDEF${'12'.repeat(29)}`
  expect(storedRebateRoot(root)).toBe(`0xabcdef${'12'.repeat(17)}${'00'.repeat(12)}`)
})

test('refuses anything but a bytes32', () => {
  for (const bad of ['0x12', `${'ab'.repeat(32)}`, `0x${'zz'.repeat(32)}`])
    expect(() => storedRebateRoot(bad)).toThrow(InvalidFieldError)
})
