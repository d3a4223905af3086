export { rmaSettlementAbi, rmaSettlementBytecode } from './artifacts/RMASettlement.js'
export { testTokenAbi, testTokenBytecode } from './artifacts/TestToken.js'
export {
  type DeploySettlementParameters,
  type DeploySettlementReturnType,
  deploySettlement,
} from './deploySettlement.js'
export {
  type DeployTestTokenParameters,
  type DeployTestTokenReturnType,
  deployTestToken,
} from './deployTestToken.js'
export { getSettlementContract } from './getSettlementContract.js'
export { getTestTokenContract } from './getTestTokenContract.js'
export { parseSettlementError, type SettlementError } from './parseSettlementError.js'
export {
  type RegisterAssetParameters,
  type RegisterAssetReturnType,
  registerAsset,
} from './registerAsset.js'
export type { AssetView, RmaSettlementContract, StakeView, TestTokenContract } from './types.js'
