export { loadWallet } from '@rma/example-shared'
export { settlementJobConfigFromEnv } from './settlementJobConfigFromEnv.js'
export {
  type ConfirmedBatch,
  type Logger,
  type SettlementJob,
  type SettlementJobConfig,
  startSettlementJob,
} from './startSettlementJob.js'
