import { measurePrepaidGas, startAnvil } from '@rma/contracts/testing'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'

/**
 * Gas of the prepaid path of the settlement contract, from real transaction receipts on a
 * local anvil node (`gasUsed`, so the 21,000 base and calldata are included): `settlePrepaid`
 * per (asset, meter, user) chain at 1, 10 and 100 chains per batch in steady state (each chain
 * and balance already has a slot: two slots read and rewritten, one `ecrecover`, one two-topic
 * event per voucher), per call when each voucher covers 1,000 calls, and the deposits and the
 * withdrawal. Counts, not ratios: gas is deterministic. The anchor is x402's batch settlement,
 * 25k to 57k gas per channel.
 */
export default defineBench(async ({ log }) => {
  const chainsPerBatch = [1, 10, 100]
  const callsPerChain = 1_000
  const anvil = await startAnvil()
  try {
    const gas = await measurePrepaidGas(anvil, { chainsPerBatch, callsPerChain })
    const perChain = (n: number) => Number(gas.settleByChains[n]!) / n
    const marginal = Number(gas.settleByChains[100]! - gas.settleByChains[10]!) / 90
    log(
      `settlePrepaid: ${chainsPerBatch.map((n) => `${n} chains ${gas.settleByChains[n]} gas`).join(', ')}; marginal chain ${Math.round(marginal)} gas`,
    )
    const count = (
      name: string,
      value: number | bigint,
      unit: string,
      target: number | null,
      detail?: Record<string, unknown>,
    ) =>
      figure({
        name,
        value: Number(value),
        unit,
        baseline: null,
        better: 'lower',
        target,
        ...(detail ? { detail } : {}),
      })
    return [
      ...chainsPerBatch.map((n) =>
        count(
          `settlePrepaid gas per chain, ${n} chain${n === 1 ? '' : 's'} per batch`,
          Math.round(perChain(n)),
          'gas',
          // The target is per chain at scale; a batch of one or ten pays its fixed part alone.
          n >= 100 ? 20_000 : null,
          {
            batchGas: Number(gas.settleByChains[n]),
            epoch: 'steady state (every chain settled before)',
            anchor: 'x402 batch settlement: 25k–57k gas per channel',
            note: 'includes the 21,000 base and the batch’s fixed ~32k (the asset’s books, the batch event), spread over its chains',
          },
        ),
      ),
      count(
        'settlePrepaid gas per additional chain (100 vs 10 per batch)',
        Math.round(marginal),
        'gas',
        20_000,
        {
          note: 'two cold slots read and rewritten (chain, balance), one ecrecover, ~2.6k calldata, one VoucherSettled',
        },
      ),
      ...[10, 100].map((n) =>
        count(
          `settlePrepaid gas per call, ${callsPerChain.toLocaleString('en-US')} calls per chain, ${n} chains per batch`,
          Number((perChain(n) / callsPerChain).toFixed(2)),
          'gas/call',
          n >= 100 ? 20 : null,
          {
            note: 'a voucher covers every call its cumulative amount acks: the cost is per chain, not per call',
          },
        ),
      ),
      count(
        `settlePrepaid gas per chain, first voucher of each chain (${gas.settleFirst.chains} per batch)`,
        Math.round(Number(gas.settleFirst.gas) / gas.settleFirst.chains),
        'gas',
        null,
        { note: 'a chain’s slot is written for the first time (22,100 instead of 2,900)' },
      ),
      count(
        `settlePrepaid gas per skipped voucher (${gas.settleAllSkipped.chains} forged in one batch)`,
        Math.round(Number(gas.settleAllSkipped.gas) / gas.settleAllSkipped.chains),
        'gas',
        null,
        {
          note: 'what a settler wastes on a voucher the contract rejects: its own gas, nobody’s money',
        },
      ),
      count('depositFor gas, a user’s first deposit', gas.depositFirst, 'gas', null),
      count('depositFor gas, to an existing balance', gas.depositMore, 'gas', null),
      count('depositWithPermit gas, sent by a relayer', gas.depositWithPermit, 'gas', null),
      count('requestWithdrawal gas', gas.requestWithdrawal, 'gas', null),
      count('withdraw gas (prepaid, after the delay)', gas.withdraw, 'gas', null),
    ]
  } finally {
    await anvil.stop()
  }
})
