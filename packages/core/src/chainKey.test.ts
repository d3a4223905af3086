import { describe, expect, test } from 'vitest'
import { chainKey } from './chainKey.js'

const asset = `0x${'ab'.repeat(32)}`
const meter = `0x${'Cd'.repeat(20)}`
const user = `0x${'Ef'.repeat(20)}`

describe('chainKey', () => {
  test('one key per (asset, meter, user), whatever the case of the hex', () => {
    expect(chainKey(asset, meter, user)).toBe(
      chainKey(asset.toUpperCase().replace('0X', '0x'), meter.toLowerCase(), user.toUpperCase()),
    )
    expect(chainKey(asset, meter, user)).toBe(
      `${asset}:${meter.toLowerCase()}:${user.toLowerCase()}`,
    )
  })

  test('another asset, meter or user is another chain', () => {
    const other = `0x${'11'.repeat(20)}`
    const key = chainKey(asset, meter, user)
    expect(chainKey(`0x${'cd'.repeat(32)}`, meter, user)).not.toBe(key)
    expect(chainKey(asset, other, user)).not.toBe(key)
    expect(chainKey(asset, meter, other)).not.toBe(key)
  })
})
