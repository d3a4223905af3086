import { readAssetStatus } from '@rma/audit'
import { auditParameters } from '../auditParameters.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { formatDuration } from '../formatDuration.js'

export const statusCommand: Command = {
  name: 'status',
  summary: "an asset's epochs, revenue, split, stake, and each role's funded / claimed / owed",
  usage: 'status',
  options: {
    ...assetOptions,
    'from-block': {
      type: 'string',
      env: 'RMA_FROM_BLOCK',
      value: 'n',
      description: 'read events from this block (the deployment block on long chains)',
    },
  },
  details:
    "Read from the chain only (views and events at one block). --json prints @rma/audit's\nreadAssetStatus object as is (amounts are decimal strings of base units).",
  async run(context) {
    const status = await readAssetStatus(auditParameters(context))
    const r = status.roles
    const lines = [
      `asset ${status.assetId} on chain ${status.chainId}, contract ${status.contract} (block ${status.block})`,
      `issuer ${status.asset.issuer}, settler ${status.asset.settler}, token ${status.asset.token}`,
      `shares issuer ${status.asset.shares.issuerBps} · supporters ${status.asset.shares.supportersBps} · users ${status.asset.shares.usersBps} · protocol ${status.asset.shares.protocolBps} bps; meters ${status.asset.meters.join(', ') || 'none'}`,
      `${status.epochs.length} epoch(s), ${status.totals.receiptCount} receipts, revenue ${status.totals.revenue}${status.totals.pendingRevenue !== '0' ? `, pending ${status.totals.pendingRevenue} (challenge window, not paid yet)` : ''}${status.totals.vetoedRevenue !== '0' ? `, vetoed ${status.totals.vetoedRevenue}` : ''}; challenge window ${status.asset.challengeWindow ? formatDuration(status.asset.challengeWindow) : 'none'}`,
      ...status.epochs.map(
        (e) =>
          `  epoch ${e.epoch} (${e.kind}${e.state === 'pending' ? `, pending until ${new Date((e.releasableAt ?? 0) * 1000).toISOString()}` : e.state === 'vetoed' ? ', vetoed' : ''}): revenue ${e.revenue} (${e.receiptCount ?? '?'} receipts) → issuer ${e.split.issuer}, supporters ${e.split.supporters}, users ${e.split.users}, protocol ${e.split.protocol}; ${e.vouchers ? `${e.vouchers.settled} of ${e.vouchers.submitted} voucher(s) applied` : `batch ${e.batchUri}`}`,
      ),
      `stake: ${status.stake.active} active, ${status.stake.pending} pending, ${status.stake.unbonding} unbonding, ${status.stake.held} held for supporters`,
      ...status.stake.supporters.map(
        (s) =>
          `  ${s.address}: active ${s.active}, pending ${s.pending}, unbonding ${s.unbonding}, earned ${s.rewardsEarned} (claimable ${s.rewardsClaimable}), yield ${(s.yieldBps / 100).toFixed(2)}%`,
      ),
      'role          funded    claimed    owed',
      ...(['issuer', 'supporters', 'users', 'protocol'] as const).map(
        (role) =>
          `  ${role.padEnd(11)} ${r[role].funded.padStart(9)} ${r[role].claimed.padStart(10)} ${r[role].owed.padStart(7)}`,
      ),
    ]
    context.print(status, lines.join('\n'))
    return 0
  },
}
