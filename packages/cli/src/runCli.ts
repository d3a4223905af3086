import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CliError } from './CliError.js'
import type { Command, CommandContext, CommandOption } from './Command.js'
import { commandList } from './commandList.js'
import { exitCodes } from './exitCodes.js'
import { type Env, parseInteger } from './readEnv.js'
import { toCliError } from './toCliError.js'

export type RunCliOptions = {
  env?: Env
  /** Relative paths are resolved from here (default `INIT_CWD`, set by pnpm, else the cwd). */
  cwd?: string
  stdout?: (text: string) => void
  stderr?: (text: string) => void
  /** Resolves when the process should stop (long-running commands such as `serve` end on it). */
  stopped?: Promise<void>
}

const globalOptions = {
  json: { type: 'boolean', description: 'print the result as one JSON object on stdout' },
  timeout: {
    type: 'string',
    value: 'ms',
    description: 'bound on each network request (default 10000)',
  },
  help: { type: 'boolean', short: 'h', description: 'this help' },
} satisfies Record<string, CommandOption>

/**
 * Runs `rma` with `argv` (without `node` and the script) and resolves to its exit code. Every
 * failure is printed as one line on stderr naming the cause and the fix (with `--json`, also
 * `{ "ok": false, "error": { "code", "message" } }` on stdout), never a stack trace.
 *
 * @example
 * process.exitCode = await runCli(['doctor', '--json'], { env: process.env })
 */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> {
  const env = options.env ?? process.env
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text))
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text))
  const words = argv.filter((a, i) => !(a === '--' && i === 0))
  const first = words[0]
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    stdout(globalHelp())
    return first === undefined ? exitCodes.usage : exitCodes.ok
  }
  if (first === '--version') {
    stdout('rma 0.1.0\n')
    return exitCodes.ok
  }
  const command =
    commandList.find((c) => c.name === `${first} ${words[1]}`) ??
    commandList.find((c) => c.name === first)
  if (!command) {
    const group = commandList.filter((c) => c.name.startsWith(`${first} `))
    if (group.length > 0) {
      const asked = words[1] === '--help' || words[1] === '-h'
      ;(asked ? stdout : stderr)(
        `${words[1] && !asked ? `rma: unknown command "${first} ${words[1]}". ` : ''}Commands of rma ${first}:\n${group.map((c) => listLine(`rma ${c.usage}`, c.summary)).join('\n')}\n`,
      )
      return asked ? exitCodes.ok : exitCodes.usage
    }
    stderr(`rma: unknown command "${first}": run \`rma --help\` for the list.\n`)
    return exitCodes.usage
  }
  const rest = words.slice(command.name.split(' ').length)
  const json = rest.includes('--json')
  const fail = (error: CliError) => {
    stderr(`rma ${command.name}: ${error.shortMessage}\n`)
    if (json)
      stdout(
        `${JSON.stringify({ ok: false, error: { code: error.code, message: error.shortMessage } })}\n`,
      )
    return error.exitCode
  }

  const all = { ...command.options, ...globalOptions }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(all).map(([name, o]) => [
          name,
          {
            type: o.type,
            ...('multiple' in o && o.multiple ? { multiple: true } : {}),
            ...('short' in o && o.short ? { short: o.short } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    return fail(
      new CliError({
        code: 'USAGE',
        shortMessage: `${(error as Error).message.split('\n')[0]?.replace(/\.$/, '')}: see \`rma ${command.name} --help\`.`,
      }),
    )
  }
  if (parsed.values.help) {
    stdout(commandHelp(command))
    return exitCodes.ok
  }
  const values = { ...parsed.values } as CommandContext['options']
  for (const [name, option] of Object.entries(command.options))
    if (values[name] === undefined && option.env && env[option.env]) values[name] = env[option.env]

  try {
    const context: CommandContext = {
      args: parsed.positionals,
      options: values,
      env,
      cwd: resolve(options.cwd ?? env.INIT_CWD ?? process.cwd()),
      json,
      timeoutMs: parseInteger(values.timeout, '--timeout', 10_000, 1),
      print: (value, text) =>
        stdout(
          json
            ? `${JSON.stringify(value, jsonBigints)}\n`
            : text.endsWith('\n')
              ? text
              : `${text}\n`,
        ),
      progress: (line) => stderr(`rma ${command.name}: ${line}\n`),
      stopped: options.stopped ?? new Promise<void>(() => {}),
    }
    return await command.run(context)
  } catch (error) {
    return fail(toCliError(error))
  }
}

/** `  usage   summary`, the summary on its own line when the usage is long. */
function listLine(usage: string, summary: string): string {
  return usage.length > 36
    ? `  ${usage}\n  ${''.padEnd(36)} ${summary}`
    : `  ${usage.padEnd(36)} ${summary}`
}

function jsonBigints(_key: string, value: unknown) {
  return typeof value === 'bigint' ? value.toString() : value
}

function optionLines(options: Record<string, CommandOption>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${'short' in o && o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`
    return `  ${flag.padEnd(30)} ${o.description}${o.env ? ` (${o.env})` : ''}${o.multiple ? ', repeatable' : ''}`
  })
}

function commandHelp(command: Command): string {
  return [
    `rma ${command.usage}`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...optionLines(command.options),
    ...optionLines(globalOptions),
    '',
    exitCodeHelp,
    '',
  ].join('\n')
}

const exitCodeHelp = `Exit codes: ${exitCodes.ok} ok, ${exitCodes.failed} a check failed or a discrepancy was found, ${exitCodes.usage} bad usage or configuration, ${exitCodes.unreachable} unreachable or timed out, ${exitCodes.mismatch} the deployment differs (chain id, contract, asset), ${exitCodes.refused} the chain refused.`

function globalHelp(): string {
  return [
    'rma: check, run and audit an RMA deployment.',
    '',
    'Usage: rma <command> [options]   (in the repository: pnpm rma -- <command> [options])',
    '',
    'Commands:',
    ...commandList.map((c) => listLine(c.usage, c.summary)),
    '',
    'Every command takes --help, --json (one JSON object on stdout; progress goes to stderr) and',
    '--timeout <ms>. Options default to the variables the examples read: RMA_RPC_URL,',
    'RMA_CHAIN_ID, RMA_SETTLEMENT_CONTRACT, RMA_ASSET_ID, and the keys RMA_<ROLE>_KEYSTORE',
    '(+ _PASSWORD) or RMA_<ROLE>_PRIVATE_KEY for the roles DEPLOYER, ISSUER, SETTLER, SUPPORTER, USER.',
    '',
    exitCodeHelp,
    '',
  ].join('\n')
}
