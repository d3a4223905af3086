import type { CommandOption } from './Command.js'

/** The options every command that reads the chain takes, each defaulting to its variable. */
export const chainOptions = {
  rpc: {
    type: 'string',
    env: 'RMA_RPC_URL',
    value: 'url',
    description: "the chain's JSON-RPC URL",
  },
  'chain-id': {
    type: 'string',
    env: 'RMA_CHAIN_ID',
    value: 'id',
    description: 'refuse a node serving another chain',
  },
  contract: {
    type: 'string',
    env: 'RMA_SETTLEMENT_CONTRACT',
    value: 'address',
    description: 'the RMASettlement contract',
  },
} satisfies Record<string, CommandOption>

/** `chainOptions` plus the asset. */
export const assetOptions = {
  ...chainOptions,
  asset: {
    type: 'string',
    env: 'RMA_ASSET_ID',
    value: 'id',
    description: "the asset's id (bytes32)",
  },
} satisfies Record<string, CommandOption>
