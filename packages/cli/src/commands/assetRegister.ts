import { assetIdOf, getSettlementContract } from '@rma/contracts'
import { assertShares } from '@rma/core'
import { id, isHexString } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { chainOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { parseDuration } from '../parseDuration.js'
import { parseInteger } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'
import { toCliError } from '../toCliError.js'

const address = /^0x[0-9a-fA-F]{40}$/

export const assetRegisterCommand: Command = {
  name: 'asset register',
  summary: 'register a model asset: token, settler, shares, unbonding delay, meters',
  usage: 'asset register --salt <name> --token <address> --settler <address> …',
  options: {
    ...chainOptions,
    salt: {
      type: 'string',
      value: 'name',
      description:
        'the asset id is derived from the issuer and this (a bytes32, or any text, hashed)',
    },
    token: {
      type: 'string',
      value: 'address',
      description: 'the ERC-20 the asset is paid and staked in',
    },
    settler: {
      type: 'string',
      value: 'address',
      description: 'the account allowed to settle (and pay the revenue in)',
    },
    'issuer-bps': {
      type: 'string',
      value: 'bps',
      description: "the issuer's share (it also takes rounding dust)",
    },
    'supporters-bps': { type: 'string', value: 'bps', description: "the supporters' share" },
    'users-bps': { type: 'string', value: 'bps', description: "the API users' share (rebates)" },
    'protocol-bps': { type: 'string', value: 'bps', description: 'the protocol fee (default 0)' },
    unbonding: {
      type: 'string',
      value: 'duration',
      description:
        'delay between unstake and withdraw: seconds or 7d, 36h (1 to 365 days; default 7d)',
    },
    meter: {
      type: 'string',
      multiple: true,
      value: 'address',
      description: 'a meter key allowed to sign receipts',
    },
  },
  details: [
    'Key: RMA_ISSUER_KEYSTORE (+ _PASSWORD) or RMA_ISSUER_PRIVATE_KEY: it becomes the issuer. The',
    'four shares must add up to 10000 bps. Prints RMA_ASSET_ID=<id>. Example:',
    '  rma asset register --salt my-model --token 0x… --settler 0x… --issuer-bps 5000 \\',
    '    --supporters-bps 3000 --users-bps 1500 --protocol-bps 500 --unbonding 7d --meter 0x…',
  ].join('\n'),
  async run(context) {
    const o = context.options
    const salt = typeof o.salt === 'string' && o.salt !== '' ? o.salt : undefined
    if (!salt)
      throw new CliError({
        code: 'USAGE',
        shortMessage: '--salt is required: a name for the asset (hashed) or a bytes32.',
      })
    const saltBytes = isHexString(salt, 32) ? salt : id(salt)
    for (const name of ['token', 'settler'] as const)
      if (typeof o[name] !== 'string' || !address.test(o[name] as string))
        throw new CliError({
          code: 'USAGE',
          shortMessage: `--${name} is required: an address (0x and 40 hex digits).`,
        })
    const meters = (o.meter as string[] | undefined) ?? []
    for (const m of meters)
      if (!address.test(m))
        throw new CliError({ code: 'USAGE', shortMessage: `--meter ${m} is not an address.` })
    const shares = {
      issuerBps: parseInteger(o['issuer-bps'], '--issuer-bps', -1, 0),
      supportersBps: parseInteger(o['supporters-bps'], '--supporters-bps', -1, 0),
      usersBps: parseInteger(o['users-bps'], '--users-bps', -1, 0),
      protocolBps: parseInteger(o['protocol-bps'], '--protocol-bps', 0, 0),
    }
    for (const [name, value] of Object.entries(shares))
      if (value < 0)
        throw new CliError({
          code: 'USAGE',
          shortMessage: `--${name.replace('Bps', '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-bps is required.`,
        })
    try {
      assertShares(shares)
    } catch (error) {
      throw new CliError({
        code: 'USAGE',
        shortMessage: `The shares add up to ${shares.issuerBps + shares.supportersBps + shares.usersBps + shares.protocolBps} bps: they must add up to 10000.`,
        cause: error,
      })
    }
    const unbonding = parseDuration(String(o.unbonding ?? '7d'), '--unbonding')
    const wallet = await loadKey(context.env, 'RMA_ISSUER', {
      role: "the issuer's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { contract: true })
    const signer = wallet.connect(chain.provider)
    const assetId = assetIdOf(signer.address, saltBytes)
    const receipt = await sendTransaction(
      context,
      chain.provider,
      'registerAsset',
      () =>
        getSettlementContract(chain.contractAddress, signer).registerAsset(
          saltBytes,
          o.token as string,
          o.settler as string,
          shares.issuerBps,
          shares.supportersBps,
          shares.usersBps,
          shares.protocolBps,
          unbonding,
          meters,
        ),
      { names: { [signer.address]: 'the issuer' } },
    ).catch((error: unknown) => {
      throw toCliError(error)
    })
    context.print(
      {
        ok: true,
        assetId,
        issuer: signer.address,
        salt: saltBytes,
        token: o.token,
        settler: o.settler,
        shares,
        unbondingDelay: unbonding,
        meters,
        txHash: receipt.hash,
      },
      `RMA_ASSET_ID=${assetId}`,
    )
    context.progress(`registered by ${signer.address} (tx ${receipt.hash})`)
    chain.provider.destroy()
    return 0
  },
}
