export { loadWallet } from './loadWallet.js'
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
