import { deploySettlement } from '@rma/contracts'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { chainOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { loadKey } from '../loadKey.js'
import { toCliError } from '../toCliError.js'

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'deploy the RMASettlement contract (once per chain)',
  usage: 'deploy [--owner <address>]',
  options: {
    rpc: chainOptions.rpc,
    'chain-id': chainOptions['chain-id'],
    owner: {
      type: 'string',
      value: 'address',
      description: "the contract's owner, who receives protocol fees (default: the deployer)",
    },
  },
  details: [
    'Key: RMA_DEPLOYER_KEYSTORE (+ _PASSWORD) or RMA_DEPLOYER_PRIVATE_KEY (needs gas only).',
    'Prints RMA_SETTLEMENT_CONTRACT=<address>, ready for an environment file:',
    '  rma deploy >> .rma/deployment.env',
  ].join('\n'),
  async run(context) {
    const owner = context.options.owner
    if (owner !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(String(owner)))
      throw new CliError({
        code: 'USAGE',
        shortMessage: '--owner must be an address (0x and 40 hex digits).',
      })
    const wallet = await loadKey(context.env, 'RMA_DEPLOYER', {
      role: 'the deploying key (gas only)',
      cwd: context.cwd,
    })
    const chain = await connectChain(context, { contract: false })
    const signer = wallet.connect(chain.provider)
    context.progress(`deploying RMASettlement from ${signer.address} on chain ${chain.chainId}`)
    let deployed: Awaited<ReturnType<typeof deploySettlement>>
    try {
      deployed = await deploySettlement(signer, owner ? { owner: String(owner) } : {})
    } catch (error) {
      throw toCliError(error)
    }
    context.print(
      {
        ok: true,
        contract: deployed.address,
        owner: owner ?? signer.address,
        chainId: Number(chain.chainId),
        txHash: deployed.receipt.hash,
        block: deployed.receipt.blockNumber,
      },
      `RMA_SETTLEMENT_CONTRACT=${deployed.address}`,
    )
    context.progress(
      `deployed in block ${deployed.receipt.blockNumber} (tx ${deployed.receipt.hash}); owner ${owner ?? signer.address}`,
    )
    chain.provider.destroy()
    return 0
  },
}
