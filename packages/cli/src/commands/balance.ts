import { getAddress, isAddress } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { formatDuration } from '../formatDuration.js'
import { loadKey } from '../loadKey.js'
import { readChainTime } from '../readChainTime.js'

export const balanceCommand: Command = {
  name: 'balance',
  summary: "a user's prepaid balance, its withdrawal request and when it can be withdrawn",
  usage: 'balance [address]',
  options: assetOptions,
  details: [
    "The address defaults to RMA_USER_*'s. The balance is in the asset's payment token (base",
    'units) and pays every asset paid in that token. `withdrawableAt` is unix seconds of the',
    "chain's clock (0 without a request). Reads only; no key is needed with an address.",
  ].join('\n'),
  async run(context) {
    const given = context.args[0]
    if (given !== undefined && !isAddress(given))
      throw new CliError({
        code: 'USAGE',
        shortMessage: `The address must be 0x and 40 hex digits, not "${given}".`,
      })
    const user = given
      ? getAddress(given)
      : (
          await loadKey(context.env, 'RMA_USER', {
            role: 'the user whose balance to read (or give its address)',
            cwd: context.cwd,
          })
        ).address
    const chain = await connectChain(context, { asset: true })
    try {
      const token = String(chain.asset.token)
      const [prepaid, now, delay] = await Promise.all([
        chain.contract.prepaidBalance(token, user),
        readChainTime(chain.provider),
        chain.contract.withdrawalDelay(),
      ])
      const { balance, withdrawalRequested, withdrawableAt } = prepaid
      const requested = withdrawalRequested > 0n
      const ready = requested && now >= withdrawableAt
      context.print(
        {
          ok: true,
          user,
          token,
          balance: balance.toString(),
          withdrawalRequested: withdrawalRequested.toString(),
          withdrawableAt: Number(withdrawableAt),
          withdrawableNow: ready,
          withdrawalDelay: Number(delay),
        },
        [
          `${user}: prepaid balance ${balance} of ${token}`,
          requested
            ? `withdrawal of ${withdrawalRequested} requested: ${ready ? 'withdrawable now (rma withdraw-balance)' : `withdrawable at ${new Date(Number(withdrawableAt) * 1000).toISOString()}, in ${formatDuration(withdrawableAt - now)}`}`
            : `no withdrawal requested (rma withdraw-balance --request <amount>; the delay is ${formatDuration(delay)})`,
        ].join('\n'),
      )
      return 0
    } finally {
      chain.provider.destroy()
    }
  },
}
