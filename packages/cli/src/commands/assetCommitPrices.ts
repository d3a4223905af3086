import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  BaseError,
  type CreatePriceTableParameters,
  createPriceTable,
  createPriceTableTree,
  type PriceTable,
  type PriceTableTree,
  priceTableVersionAt,
} from '@rma/core'
import { priceTableAbi } from '@rma/settlement'
import { Contract } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { parseInteger } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'

export const assetCommitPricesCommand: Command = {
  name: 'asset commit-prices',
  summary: "commit the asset's price table (its Merkle root) on chain, for receipts to name",
  usage: 'asset commit-prices <prices.json> --uri <url> [--effective-from <unix>]',
  options: {
    ...assetOptions,
    uri: {
      type: 'string',
      value: 'url',
      description: 'where the full table is published (challengers and auditors read it)',
    },
    'effective-from': {
      type: 'string',
      value: 'unix',
      description: 'the version to commit (default: the one in force now)',
    },
  },
  details: [
    'prices.json: {"models": {"gpt-4o": {"input": "2500000", "output": "10000000"}}, "aliases": {}}',
    '(or the models object alone, as RMA_PRICES), base units per 1M tokens; a model may list',
    'versions [{"effectiveFrom": 1767225600, ...}]. The root is the one the meter puts in each',
    'receipt it prices with that version. Key: RMA_ISSUER_KEYSTORE (+ _PASSWORD) or',
    'RMA_ISSUER_PRIVATE_KEY (only the issuer may).',
  ].join('\n'),
  async run(context) {
    const path = context.args[0]
    if (!path)
      throw new CliError({
        code: 'USAGE',
        shortMessage:
          'The price table file is required: rma asset commit-prices <prices.json> --uri <url>.',
      })
    const uri = context.options.uri
    if (typeof uri !== 'string' || uri === '')
      throw new CliError({
        code: 'USAGE',
        shortMessage: '--uri is required: the URL where the full price table is published.',
      })
    const table = await readTable(resolve(context.cwd, path), path)
    const now = Math.floor(Date.now() / 1000)
    const effectiveFrom = parseInteger(
      context.options['effective-from'],
      '--effective-from',
      priceTableVersionAt(table, now) ?? 0,
      0,
    )
    let tree: PriceTableTree
    try {
      tree = createPriceTableTree(table, { at: effectiveFrom })
    } catch (error) {
      if (error instanceof BaseError)
        throw new CliError({ code: 'CONFIG', shortMessage: `${path}: ${error.shortMessage}` })
      throw error
    }
    const wallet = await loadKey(context.env, 'RMA_ISSUER', {
      role: "the issuer's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    const signer = wallet.connect(chain.provider)
    const contract = new Contract(
      chain.contractAddress,
      priceTableAbi as unknown as string[],
      signer,
    )
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'commitPriceTable',
      () => contract.getFunction('commitPriceTable')(chain.assetId, tree.root, effectiveFrom, uri),
      { names: { [signer.address]: 'the key sending' } },
    )
    context.print(
      {
        ok: true,
        root: tree.root,
        effectiveFrom,
        entries: tree.entries.length,
        uri,
        txHash: receipt.hash,
      },
      `price table ${tree.root} (${tree.entries.length} entries, effective from ${effectiveFrom}) committed (tx ${receipt.hash})`,
    )
    chain.provider.destroy()
    return 0
  },
}

async function readTable(file: string, shown: string): Promise<PriceTable> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError({ code: 'CONFIG', shortMessage: `Cannot read ${shown}: check the path.` })
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `${shown} is not JSON: write {"models": {"gpt-4o": {"input": "2500000", "output": "10000000"}}}.`,
    })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `${shown} must be a JSON object of models (or {"models": ...}).`,
    })
  const parameters = ('models' in json ? json : { models: json }) as CreatePriceTableParameters
  try {
    return createPriceTable(parameters)
  } catch (error) {
    if (error instanceof BaseError)
      throw new CliError({ code: 'CONFIG', shortMessage: `${shown}: ${error.shortMessage}` })
    throw error
  }
}
