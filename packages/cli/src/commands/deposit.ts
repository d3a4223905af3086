import { getAddress, isAddress } from 'ethers'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { erc20 } from '../erc20.js'
import { loadKey } from '../loadKey.js'
import { parseAmount } from '../readEnv.js'
import { sendTransaction } from '../sendTransaction.js'

export const depositCommand: Command = {
  name: 'deposit',
  summary: "add to a user's prepaid balance in the asset's payment token (approves it first)",
  usage: 'deposit <amount> [--for <address>]',
  options: {
    ...assetOptions,
    for: {
      type: 'string',
      value: 'address',
      description: 'credit this user instead of the key (anyone may deposit for a user)',
    },
  },
  details: [
    'The amount is in base units of the payment token, paid from RMA_USER_KEYSTORE (+ _PASSWORD)',
    'or RMA_USER_PRIVATE_KEY. The balance is per token: it pays prepaid calls at every asset paid',
    'in the token. Approves exactly the amount when the allowance is short; refuses before sending',
    'anything when the key holds less than the amount. Prints the balance after.',
    'Example: rma deposit 5000000 --for 0x…   (5 of a 6-decimal token, for another user)',
  ].join('\n'),
  async run(context) {
    const amount = parseAmount(context.args[0], 'amount to deposit')
    if (amount === 0n)
      throw new CliError({
        code: 'USAGE',
        shortMessage: 'The amount to deposit is 0: give a positive amount in base units.',
      })
    const target = context.options.for as string | undefined
    if (target !== undefined && !isAddress(target))
      throw new CliError({
        code: 'USAGE',
        shortMessage: `--for must be an address (0x and 40 hex digits), not "${target}".`,
      })
    const wallet = await loadKey(context.env, 'RMA_USER', {
      role: "the paying user's key",
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { asset: true })
    try {
      const signer = wallet.connect(chain.provider)
      const user = target ? getAddress(target) : signer.address
      const tokenAddress = String(chain.asset.token)
      const names = { [signer.address]: 'the payer' }
      const token = erc20(tokenAddress, signer)
      const held = await token.balanceOf(signer.address)
      if (held < amount)
        throw new CliError({
          code: 'REFUSED',
          shortMessage: `${signer.address} holds ${held} of the payment token ${tokenAddress}, less than ${amount}: nothing was sent; fund it, or deposit at most ${held}.`,
        })
      const allowance = await token.allowance(signer.address, chain.contractAddress)
      if (allowance < amount)
        await sendTransaction(
          context,
          chain.provider,
          'approve',
          () => token.contract.getFunction('approve')(chain.contractAddress, amount),
          { names },
        )
      const receipt = await sendTransaction(
        context,
        chain.provider,
        'depositFor',
        () => chain.contract.connect(signer).depositFor(tokenAddress, user, amount),
        { names },
      )
      const after = await chain.contract.prepaidBalance(tokenAddress, user)
      context.print(
        {
          ok: true,
          payer: signer.address,
          user,
          token: tokenAddress,
          amount: amount.toString(),
          balance: after.balance.toString(),
          txHash: receipt.hash,
        },
        `deposited ${amount} for ${user}${user === signer.address ? '' : ` (paid by ${signer.address})`}: prepaid balance ${after.balance} (tx ${receipt.hash})`,
      )
      return 0
    } finally {
      chain.provider.destroy()
    }
  },
}
