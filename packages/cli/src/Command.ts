import type { Env } from './readEnv.js'

/** One option of a command, as `--name <value>` (or a flag); `env` is the variable it defaults to. */
export type CommandOption = {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** The variable read when the option is not given. */
  env?: string
  /** `<value>` in the help. */
  value?: string
  description: string
}

/** What a command's `run` receives: its arguments, options, environment and output. */
export type CommandContext = {
  /** Positional arguments after the command's name. */
  args: string[]
  /** Every option given or read from its variable, by name. */
  options: Record<string, string | boolean | string[] | undefined>
  env: Env
  /** The directory relative paths are resolved from (`INIT_CWD` under pnpm, else the cwd). */
  cwd: string
  json: boolean
  /** Per network request (JSON-RPC, HTTP), in ms. */
  timeoutMs: number
  /** Prints the result: `value` as JSON with `--json`, else `text`. */
  print(value: unknown, text: string): void
  /** A progress line on stderr (never on stdout, which holds the result). */
  progress(line: string): void
  /** Resolves when the process is asked to stop (SIGINT, SIGTERM): long-running commands end on it. */
  stopped: Promise<void>
}

/** A `rma` command: its help and its work; `run` resolves to the exit code. */
export type Command = {
  /** `doctor`, or `asset register` for a subcommand. */
  name: string
  summary: string
  /** The synopsis after `rma`, e.g. `stake <amount>`. */
  usage: string
  options: Record<string, CommandOption>
  /** More help: what it reads, what it prints, examples. */
  details?: string
  run(context: CommandContext): Promise<number>
}
