import { describe, expect, test } from 'vitest'
import { commandList } from '../src/commandList.js'
import { lastLine, runRma } from './runRma.js'

describe('rma usage', () => {
  test('every command has --help: usage, options with their variables, exit codes', async () => {
    for (const command of commandList) {
      const run = await runRma([...command.name.split(' '), '--help'], {})
      expect(run.code, command.name).toBe(0)
      expect(run.stdout, command.name).toContain(`rma ${command.usage}`)
      expect(run.stdout, command.name).toContain('--json')
      expect(run.stdout, command.name).toContain('Exit codes: 0 ok')
    }
  })

  test('an unknown command or option is one line naming the fix, exit 2', async () => {
    const unknown = await runRma(['stak'], {})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe('rma: unknown command "stak": run `rma --help` for the list.\n')
    const option = await runRma(['doctor', '--rpcc', 'x'], {})
    expect(option.code).toBe(2)
    expect(option.stderr.trim().split('\n')).toHaveLength(1)
    expect(option.stderr).toContain('--rpcc')
    expect(option.stderr).toContain('`rma doctor --help`')
  })

  test('a missing key names the variables to set, never a value; --json adds the error object', async () => {
    const run = await runRma(['stake', '1', '--json'], { RMA_SUPPORTER_PRIVATE_KEY: 'not-a-key' })
    expect(run.code).toBe(2)
    expect(lastLine(run.stderr)).toBe(
      'rma stake: RMA_SUPPORTER_PRIVATE_KEY is not a valid private key (32 bytes of hex).',
    )
    expect(run.stderr).not.toContain('not-a-key')
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      error: {
        code: 'CONFIG',
        message: 'RMA_SUPPORTER_PRIVATE_KEY is not a valid private key (32 bytes of hex).',
      },
    })
    const none = await runRma(['settle', '--once', '--public-url', 'http://x'], {})
    expect(lastLine(none.stderr)).toContain(
      'set RMA_SETTLER_KEYSTORE (+ RMA_SETTLER_KEYSTORE_PASSWORD) or RMA_SETTLER_PRIVATE_KEY',
    )
  })

  test('settle without --once, or without a public URL for batch files, says what to set', async () => {
    expect(lastLine((await runRma(['settle'], {})).stderr)).toContain('pass --once')
    expect(lastLine((await runRma(['settle', '--once'], {})).stderr)).toContain(
      'set RMA_PUBLIC_URL',
    )
  })
})
