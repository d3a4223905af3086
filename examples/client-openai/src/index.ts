export { loadWallet } from '@rma/example-shared'
export {
  type ClaimRebateParameters,
  type ClaimRebateReturnType,
  claimRebate,
} from './claimRebate.js'
export { type ClientEnvConfig, clientConfigFromEnv } from './clientConfigFromEnv.js'
export { formatReceipt } from './formatReceipt.js'
export {
  type Call,
  type CallResult,
  type ClientConfig,
  createRmaOpenAI,
  type RmaOpenAI,
  runCalls,
  runClient,
} from './runClient.js'
