import { expect } from 'vitest'
import type { CallAnswer } from './postCall.js'

/**
 * Asserts a call was refused in OpenAI's error JSON shape (never an HTML page or a stack
 * trace: an upstream's HTML page may only appear inside the message), with `status` and `code` when given.
 *
 * @example
 * expectRefused(answer, { status: 402, code: 'rma_insufficient_max_amount' })
 */
export function expectRefused(
  answer: CallAnswer,
  expected: { status?: number; code?: string } = {},
): void {
  if (expected.status !== undefined) expect(answer.status).toBe(expected.status)
  else expect(answer.status).toBeGreaterThanOrEqual(400)
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/)
  expect(answer.text).not.toMatch(/at .*\.(ts|js):\d+/)
  const { error } = JSON.parse(answer.text) as {
    error: { message: unknown; type: unknown; code: unknown }
  }
  expect(typeof error.message).toBe('string')
  expect(typeof error.type).toBe('string')
  if (expected.code !== undefined) expect(error.code).toBe(expected.code)
  expect(answer.headers.get('rma-receipt')).toBeNull()
}
