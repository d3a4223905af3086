import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { lastLine, runRma } from './runRma.js'

const dir = mkdtempSync(join(tmpdir(), 'rma-prices-'))
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return name
}

describe('rma asset commit-prices: bad input is one line naming the fix, nothing sent', () => {
  test('a missing file argument or --uri', async () => {
    const none = await runRma(['asset', 'commit-prices'], {}, { cwd: dir })
    expect(none.code).toBe(2)
    expect(lastLine(none.stderr)).toBe(
      'rma asset commit-prices: The price table file is required: rma asset commit-prices <prices.json> --uri <url>.',
    )
    const noUri = await runRma(['asset', 'commit-prices', 'prices.json'], {}, { cwd: dir })
    expect(lastLine(noUri.stderr)).toBe(
      'rma asset commit-prices: --uri is required: the URL where the full price table is published.',
    )
  })

  test('an unreadable, non-JSON or invalid table', async () => {
    const run = (name: string) =>
      runRma(['asset', 'commit-prices', name, '--uri', 'https://x/p.json'], {}, { cwd: dir })
    expect(lastLine((await run('absent.json')).stderr)).toBe(
      'rma asset commit-prices: Cannot read absent.json: check the path.',
    )
    expect(lastLine((await run(file('bad.json', '{'))).stderr)).toBe(
      'rma asset commit-prices: bad.json is not JSON: write {"models": {"gpt-4o": {"input": "2500000", "output": "10000000"}}}.',
    )
    const negative = await run(file('neg.json', '{"m": {"input": "-1", "output": "1"}}'))
    expect(negative.code).toBe(2)
    expect(lastLine(negative.stderr)).toBe(
      'rma asset commit-prices: neg.json: Model "m": input price must be a non-negative integer of base units, got -1.',
    )
    const snapshot = await run(
      file(
        'snap.json',
        JSON.stringify({
          models: {
            'gpt-4o': { input: '2500000', output: '10000000' },
            'gpt-4o-2024-05-13': { input: '5000000', output: '15000000' },
          },
        }),
      ),
    )
    expect(snapshot.code).toBe(2)
    expect(lastLine(snapshot.stderr)).toMatch(
      /^rma asset commit-prices: snap\.json: Snapshot "gpt-4o-2024-05-13" and its base "gpt-4o" have different prices: .* Give them the same prices, or rename the snapshot/,
    )
  })
})
