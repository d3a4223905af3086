import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  FraudProofRejectedError,
  fraudPriceTables,
  NothingToProveError,
  parseLedgerEvidence,
  proveFraud,
  selectFraud,
} from '@rma/client'
import {
  BaseError,
  type CreatePriceTableParameters,
  createDomain,
  createPriceTable,
  type Fraud,
  findFraud,
  type Hex,
  hashReceipt,
  type PriceTable,
} from '@rma/core'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { chainOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { exitCodes } from '../exitCodes.js'
import { loadKey } from '../loadKey.js'

export const proveCommand: Command = {
  name: 'prove',
  summary: "find the frauds a user's ledger proves, and prove them on chain",
  usage: 'prove --ledger <file> [--receipt <hash> | --all] [--prices <file>]',
  options: {
    ...chainOptions,
    ledger: {
      type: 'string',
      value: 'file',
      description:
        "a user's ledger: client.rma.ledger.exportJSON() (rma.ledger/1) or a createFileLedgerStore file",
    },
    receipt: {
      type: 'string',
      value: 'hash',
      description: 'prove the fraud of this receipt (the one that pays most)',
    },
    all: { type: 'boolean', description: 'prove every fraud found' },
    prices: {
      type: 'string',
      value: 'file',
      description:
        'the price table the receipts were priced with (createPriceTable JSON), for mispricing',
    },
  },
  details: [
    'Without --receipt or --all, lists what the ledger proves (equivocation, overcharge,',
    'mispricing: findFraud of @rma/core) and sends nothing. With them, each proof is dry-run first',
    '(a proof the contract would refuse is reported and not sent), then sent with the key',
    'RMA_CHALLENGER_KEYSTORE (+ _PASSWORD) or RMA_CHALLENGER_PRIVATE_KEY, which receives the bounty;',
    'the harmed user receives the compensation. Exit 5 when a proof is refused (e.g. AlreadyProven).',
    'Example: rma prove --ledger ledger.json --all',
  ].join('\n'),
  async run(context) {
    const ledgerPath = context.options.ledger as string | undefined
    if (!ledgerPath)
      throw new CliError({
        code: 'USAGE',
        shortMessage: "The user's ledger is required: rma prove --ledger <file>.",
      })
    const text = await readFile(resolve(context.cwd, ledgerPath), 'utf8').catch(() => {
      throw new CliError({
        code: 'CONFIG',
        shortMessage: `--ledger: cannot read ${ledgerPath}: check the path.`,
      })
    })
    const evidence = (() => {
      try {
        return parseLedgerEvidence(text)
      } catch (error) {
        throw new CliError({
          code: 'USAGE',
          shortMessage: `--ledger: ${ledgerPath} ${oneLine(error)}`,
        })
      }
    })()
    const prices = await readPrices(context.cwd, context.options.prices as string | undefined)
    const chain = await connectChain(context)
    const domain = createDomain({
      chainId: chain.chainId,
      verifyingContract: chain.contractAddress,
    })
    if (
      evidence.domain &&
      (evidence.domain.chainId !== domain.chainId ||
        evidence.domain.verifyingContract.toLowerCase() !== domain.verifyingContract.toLowerCase())
    )
      throw new CliError({
        code: 'WRONG_CHAIN',
        shortMessage: `The ledger is for contract ${evidence.domain.verifyingContract} on chain ${evidence.domain.chainId}, not ${domain.verifyingContract} on chain ${domain.chainId}: point --rpc and --contract at the ledger's.`,
      })
    const frauds = findFraud({
      domain,
      receipts: evidence.receipts,
      attestations: evidence.attestations,
      priceTables: fraudPriceTables(prices, evidence.receipts),
    })
    const target = context.options.receipt as string | undefined
    if (!target && context.options.all !== true) {
      context.print(
        { ok: true, frauds: frauds.map((f) => describe(f, domain)) },
        frauds.length === 0
          ? `prove: the ledger's ${evidence.receipts.length} receipt(s) prove no fraud`
          : frauds
              .map((f) => {
                const d = describe(f, domain)
                return `${d.kind} seq ${d.seq} receipt ${d.receipt}: compensation ${d.compensation}`
              })
              .join('\n'),
      )
      chain.provider.destroy()
      return 0
    }
    let chosen: Fraud[]
    try {
      chosen = target ? [selectFraud(frauds, target as Hex)] : dedupe(frauds)
    } catch (error) {
      if (error instanceof NothingToProveError)
        throw new CliError({
          code: 'REFUSED',
          shortMessage: `Receipt ${target} proves no fraud; nothing was sent.`,
        })
      throw error
    }
    if (chosen.length === 0)
      throw new CliError({
        code: 'REFUSED',
        shortMessage: 'The ledger proves no fraud; nothing was sent.',
      })
    const wallet = await loadKey(context.env, 'RMA_CHALLENGER', {
      role: "the challenger's key",
      cwd: context.cwd,
    })
    const signer = wallet.connect(chain.provider)
    const results = []
    for (const fraud of chosen) {
      const d = describe(fraud, domain)
      context.progress(`prove ${d.kind} of seq ${d.seq}: sending`)
      try {
        const proven = await proveFraud({ fraud, signer, settlement: chain.contractAddress })
        results.push({ ...d, ok: true, ...stringify(proven) })
      } catch (error) {
        if (!(error instanceof FraudProofRejectedError)) throw error
        if (chosen.length === 1)
          throw new CliError({
            code: 'REFUSED',
            shortMessage: `The contract refuses the ${d.kind} proof of seq ${d.seq} (${error.reason ?? 'reverted'})${error.sent ? '' : '; nothing was sent'}.`,
            cause: error,
          })
        results.push({ ...d, ok: false, reason: error.reason ?? 'reverted' })
      }
    }
    chain.provider.destroy()
    context.print(
      { ok: results.every((r) => r.ok), results },
      results
        .map((r) =>
          r.ok && 'txHash' in r
            ? `proven ${r.kind} of seq ${r.seq}: compensation ${r.compensation}, bounty ${r.bounty} (tx ${r.txHash})`
            : `refused ${r.kind} of seq ${r.seq}: ${'reason' in r ? r.reason : ''}`,
        )
        .join('\n'),
    )
    return results.every((r) => r.ok) ? exitCodes.ok : exitCodes.refused
  },
}

/** One proof per chain position (the contract pays each once): the one that pays most. */
function dedupe(frauds: readonly Fraud[]): Fraud[] {
  const best = new Map<string, Fraud>()
  for (const fraud of frauds) {
    const r = fraud.kind === 'equivocation' ? fraud.a : fraud.receipt
    const key = `${r.assetId}:${r.meter}:${r.user}:${r.seq}`.toLowerCase()
    const known = best.get(key)
    if (!known || fraud.compensation > known.compensation) best.set(key, fraud)
  }
  return [...best.values()]
}

function describe(fraud: Fraud, domain: ReturnType<typeof createDomain>) {
  const r = fraud.kind === 'equivocation' ? fraud.a : fraud.receipt
  return {
    kind: fraud.kind,
    seq: r.seq,
    meter: r.meter,
    user: r.user,
    receipt: hashReceipt(r, domain),
    compensation: fraud.compensation.toString(),
  }
}

function stringify(proven: Awaited<ReturnType<typeof proveFraud>>) {
  return {
    txHash: proven.txHash,
    compensation: proven.compensation.toString(),
    bounty: proven.bounty.toString(),
  }
}

async function readPrices(cwd: string, path: string | undefined): Promise<PriceTable | undefined> {
  if (!path) return undefined
  const text = await readFile(resolve(cwd, path), 'utf8').catch(() => {
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `--prices: cannot read ${path}: check the path.`,
    })
  })
  try {
    return createPriceTable(JSON.parse(text) as CreatePriceTableParameters)
  } catch (error) {
    throw new CliError({
      code: 'USAGE',
      shortMessage: `--prices: ${path} is not a price table ({ "models": { "<model>": { "input": "<base units per 1M>", "output": "…" } } }): ${oneLine(error)}`,
    })
  }
}

function oneLine(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)
}
