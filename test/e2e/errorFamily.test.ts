import * as audit from '@rma/audit'
import * as cli from '@rma/cli'
import * as client from '@rma/client'
import * as contracts from '@rma/contracts'
import * as core from '@rma/core'
import { BaseError } from '@rma/core'
import * as prices from '@rma/prices'
import * as settlement from '@rma/settlement'
import * as store from '@rma/store'
import { describe, expect, test } from 'vitest'

/**
 * The error family of every package (docs/errors.md): each exported error class is a
 * `BaseError` with its own literal `name`, its constructor takes one object, and its `code` is
 * fixed by the class (the same whatever the object says), so a package has one class per code.
 * The abstract family bases (`StoreError`, …) are only bases; `CliError` is the one class whose
 * code is a typed member of its object (its exit category, picked at run time).
 */
const packages: Record<string, { exports: object; families: string[]; codeInObject?: string[] }> = {
  '@rma/core': { exports: core, families: ['BaseError'] },
  '@rma/client': { exports: client, families: ['ReceiptError'] },
  '@rma/settlement': { exports: settlement, families: ['SettlementError'] },
  '@rma/store': { exports: store, families: ['StoreError'] },
  '@rma/audit': { exports: audit, families: ['AuditError'] },
  '@rma/cli': { exports: cli, families: [], codeInObject: ['CliError'] },
  '@rma/prices': { exports: prices, families: [] },
  '@rma/contracts': { exports: contracts, families: [] },
}

type ErrorClass = new (parameters: Record<string, unknown>) => BaseError

/** One object every constructor of the family can read (each takes the fields it needs). */
function parameters(variant: 'a' | 'b'): Record<string, unknown> {
  return {
    shortMessage: `message ${variant}`,
    details: `details ${variant}`,
    code: variant === 'a' ? 'USAGE' : 'FAILED',
    known: [],
    providers: [],
    reason: 'reason',
    field: 'field',
    expected: 1n,
    actual: 2n,
    seq: 1,
    cap: 1n,
    kind: 'gap',
    meter: '0x',
    root: '0x',
    leaf: '0x',
    model: 'model',
    provider: 'provider',
    library: 'Library',
    transaction: 'transaction',
    source: 'source',
    value: variant,
  }
}

function errorClassesOf(exports: object): [string, ErrorClass][] {
  return Object.entries(exports).filter(
    (entry): entry is [string, ErrorClass] =>
      typeof entry[1] === 'function' &&
      (entry[1] === BaseError || entry[1].prototype instanceof BaseError),
  )
}

describe.each(Object.entries(packages))('%s errors', (_, { exports, families, codeInObject }) => {
  const classes = errorClassesOf(exports)
  const concrete = classes.filter(([name]) => !families.includes(name))

  test('exports at least one error class, and every family base it names', () => {
    expect(concrete.length).toBeGreaterThan(0)
    for (const family of families) expect(classes.map(([name]) => name)).toContain(family)
  })

  test.each(concrete)(
    '%s is a BaseError with its own name, built from one object',
    (name, Class) => {
      expect(Class.length).toBeLessThanOrEqual(1)
      const error = new Class(parameters('a'))
      expect(error).toBeInstanceOf(BaseError)
      expect(error).toBeInstanceOf(Error)
      expect(error.name).toBe(name)
      expect(error.code).toMatch(/^[A-Z][A-Z0-9_]*$/)
      expect(error.message.startsWith(error.shortMessage)).toBe(true)
    },
  )

  test.each(concrete)('%s has a fixed code', (name, Class) => {
    const a = new Class(parameters('a')).code
    const b = new Class(parameters('b')).code
    if (codeInObject?.includes(name)) expect([a, b]).toEqual(['USAGE', 'FAILED'])
    else expect(b).toBe(a)
  })

  test('one class per code', () => {
    const codes = concrete
      .filter(([name]) => !codeInObject?.includes(name))
      .map(([, Class]) => new Class(parameters('a')).code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  test('every concrete class extends its family base (when the package has one)', () => {
    const bases = classes.filter(([name]) => families.includes(name) && name !== 'BaseError')
    if (bases.length === 0) return
    const receiptErrors = concrete.filter(([, Class]) =>
      bases.some(([, Base]) => Class.prototype instanceof Base),
    )
    // The client's option, getReceipt and prove errors are not receipt checks: plain BaseErrors.
    const outside = concrete.filter((entry) => !receiptErrors.includes(entry)).map(([n]) => n)
    expect(outside).toEqual(
      bases[0]![0] === 'ReceiptError'
        ? [
            'FraudProofRejectedError',
            'InvalidClientOptionsError',
            'NothingToProveError',
            'UnknownCallError',
          ]
        : [],
    )
  })
})
