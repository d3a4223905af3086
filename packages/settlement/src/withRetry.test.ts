import { describe, expect, test } from 'vitest'
import { SettlementError } from './errors.js'
import { isTransient, withRetry } from './withRetry.js'

describe('withRetry', () => {
  test('retries transient failures with backoff, then succeeds', async () => {
    let calls = 0
    const result = await withRetry(
      async () => {
        if (++calls < 3)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8545'), {
            code: 'ECONNREFUSED',
          })
        return 'ok'
      },
      { baseDelayMs: 1 },
    )
    expect(result).toBe('ok')
    expect(calls).toBe(3)
  })

  test('gives up with RPC_UNAVAILABLE after the last attempt, keeping the cause', async () => {
    const cause = Object.assign(new Error('timeout'), { code: 'TIMEOUT' })
    const error = await withRetry(() => Promise.reject(cause), {
      attempts: 2,
      baseDelayMs: 1,
    }).catch((e) => e)
    expect(error).toBeInstanceOf(SettlementError)
    expect(error.code).toBe('RPC_UNAVAILABLE')
    expect(error.cause).toBe(cause)
  })

  test('does not retry a revert', async () => {
    let calls = 0
    const revert = Object.assign(new Error('execution reverted'), { code: 'CALL_EXCEPTION' })
    await expect(
      withRetry(
        () => {
          calls++
          return Promise.reject(revert)
        },
        { baseDelayMs: 1 },
      ),
    ).rejects.toBe(revert)
    expect(calls).toBe(1)
    expect(isTransient(revert)).toBe(false)
    expect(isTransient({ message: 'nonce too low' })).toBe(true)
  })
})
