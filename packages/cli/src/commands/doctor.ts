import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { diagnoseDeployment } from '../diagnoseDeployment.js'
import { exitCodes } from '../exitCodes.js'
import { settlementModeOption } from '../settlementMode.js'

const marks = { pass: '✓', fail: '✗', warn: '!', skip: '-', 'n/a': '·' } as const

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check a deployment end to end and say what to change',
  usage: 'doctor',
  options: {
    ...assetOptions,
    provider: {
      type: 'string',
      env: 'RMA_PROVIDER_URL',
      value: 'url',
      description: "the provider's URL, for /rma/health (default: RMA_BASE_URL without /v1)",
    },
    db: {
      type: 'string',
      env: 'RMA_DB',
      value: 'path',
      description: "the provider's SQLite store: the revenue waiting to be settled (read only)",
    },
    'database-url': {
      type: 'string',
      env: 'RMA_DATABASE_URL',
      value: 'url',
      description: 'or its PostgreSQL store',
    },
    mode: settlementModeOption,
    batches: {
      type: 'string',
      value: 'n',
      description: 'check the batch files of the last n epochs (default 20)',
    },
    'max-batch-bytes': {
      type: 'string',
      value: 'bytes',
      description: 'refuse larger batch files (default 268435456)',
    },
    'from-block': {
      type: 'string',
      env: 'RMA_FROM_BLOCK',
      value: 'n',
      description: 'read events from this block (the deployment block on long chains)',
    },
  },
  details: [
    'Checks, in order: configuration, chain reachable, chain id (RMA_CHAIN_ID, default 31337 as the',
    'provider and client use), contract code, asset registered, provider health (/rma/health),',
    "meter authorised (RMA_METER_* key and the provider's meter), settler key (RMA_SETTLER_*),",
    'settler gas, settler funded (balance and deposit cover the unsettled receipts of RMA_DB or',
    'RMA_DATABASE_URL, when set) and approved (with --mode prepaid or RMA_SETTLEMENT_MODE=prepaid:',
    "not applicable, users' balances pay; the settler needs only gas), stake active, price table",
    '(not applicable: the contract has none), each recent batch file fetched by its on-chain URI',
    'and checked against its hash and roots. Each line: ✓ pass, ✗ fail (with the fix), ! warning,',
    '- skipped (what it needs), · not applicable. Exit 1 if any check fails.',
  ].join('\n'),
  async run(context) {
    const report = await diagnoseDeployment(context)
    const failed = report.checks.filter((c) => c.status === 'fail').length
    context.print(
      report,
      [
        ...report.checks.map(
          (c) =>
            `${marks[c.status]} ${c.name}: ${c.detail}${c.fix && c.status !== 'pass' ? ` → fix: ${c.fix}` : ''}`,
        ),
        report.ok ? 'doctor: every check passed' : `doctor: ${failed} check(s) failed`,
      ].join('\n'),
    )
    return report.ok ? exitCodes.ok : exitCodes.failed
  },
}
