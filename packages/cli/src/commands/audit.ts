import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { auditAsset } from '@rma/audit'
import { auditParameters } from '../auditParameters.js'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { exitCodes } from '../exitCodes.js'
import { parseInteger } from '../readEnv.js'

export const auditCommand: Command = {
  name: 'audit',
  summary: 're-derive every payout from public data only and report every discrepancy',
  usage: 'audit [--ledger <file>]',
  options: {
    ...assetOptions,
    ledger: {
      type: 'string',
      value: 'file',
      description:
        "a user's exported receipts (rma.ledger/1): also finds omitted receipts and equivocation",
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
    "Reads the chain's events and views and each epoch's batch file by its on-chain URI (http(s) or",
    'file, bounded by --timeout and --max-batch-bytes), checked against its on-chain hash; the',
    'payouts are re-derived by @rma/audit, independently of the settlement client. Exit 0 only when',
    'nothing differs; else 1, one line per discrepancy: kind, epoch, accounts, detail.',
  ].join('\n'),
  async run(context) {
    const parameters = auditParameters(context)
    const ledgerPath = context.options.ledger as string | undefined
    const ledger =
      ledgerPath === undefined
        ? undefined
        : await readFile(resolve(context.cwd, ledgerPath), 'utf8').catch(() => {
            throw new CliError({
              code: 'CONFIG',
              shortMessage: `--ledger: cannot read ${ledgerPath}: check the path.`,
            })
          })
    context.progress('reading the chain and fetching every batch file')
    const report = await auditAsset({
      ...parameters,
      ...(ledger !== undefined ? { ledger } : {}),
      batchTimeoutMs: context.timeoutMs,
      maxBatchBytes: parseInteger(
        context.options['max-batch-bytes'],
        '--max-batch-bytes',
        256 * 1024 * 1024,
        1,
      ),
    })
    const lines = report.ok
      ? [`audit: ${report.epochs.length} epoch(s) re-derived, nothing differs`]
      : [
          ...report.discrepancies.map(
            (d) =>
              `${d.kind}${d.epoch !== undefined ? ` epoch ${d.epoch}` : ''}${d.accounts.length > 0 ? ` [${d.accounts.join(' ')}]` : ''}: ${d.detail}`,
          ),
          `audit: ${report.discrepancies.length} discrepancy(ies) in ${report.epochs.filter((e) => e.status !== 'ok').length} of ${report.epochs.length} epoch(s)`,
        ]
    context.print(report, lines.join('\n'))
    return report.ok ? exitCodes.ok : exitCodes.failed
  },
}
