export { loadWallet } from '@rma/example-shared'
export {
  claimRewards,
  requestUnstake,
  type SupporterConfig,
  type SupporterStatus,
  stake,
  supporterStatus,
  unstakeAndWithdraw,
  waitForChainTime,
  watchRewards,
  withdraw,
} from './supporter.js'
