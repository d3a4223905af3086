export {
  feeOnTransferTokenAbi,
  feeOnTransferTokenBytecode,
} from './artifacts/FeeOnTransferToken.js'
export {
  phantomPermitTokenAbi,
  phantomPermitTokenBytecode,
} from './artifacts/PhantomPermitToken.js'
export { rebasingTokenAbi, rebasingTokenBytecode } from './artifacts/RebasingToken.js'
export { rmaSettlementAbi, rmaSettlementBytecode } from './artifacts/RMASettlement.js'
export { testTokenAbi, testTokenBytecode } from './artifacts/TestToken.js'
export { assetIdOf } from './assetIdOf.js'
export {
  type DeploySettlementParameters,
  type DeploySettlementReturnType,
  defaultWithdrawalDelay,
  deploySettlement,
} from './deploySettlement.js'
export {
  type DeployTestTokenParameters,
  type DeployTestTokenReturnType,
  deployTestToken,
} from './deployTestToken.js'
export { getSettlementContract } from './getSettlementContract.js'
export {
  getTestTokenContract,
  type TestTokenKind,
  testTokenAbiOf,
} from './getTestTokenContract.js'
export { maxChallengeWindow, maxPendingBatches } from './maxChallengeWindow.js'
export {
  type ParseSettlementErrorOptions,
  parseSettlementError,
  type SettlementError,
} from './parseSettlementError.js'
export {
  type RegisterAssetParameters,
  type RegisterAssetReturnType,
  registerAsset,
} from './registerAsset.js'
export { storedRebateRoot } from './storedRebateRoot.js'
export { toVoucher, type VoucherAck } from './toVoucher.js'
export type {
  AssetView,
  EpochRebatesView,
  EpochStateView,
  PendingStakeView,
  PrepaidBalanceView,
  RebateClaim,
  RmaSettlementContract,
  SettledVoucherView,
  StakeView,
  TestTokenContract,
  Voucher,
} from './types.js'
export { type VerifyRebateProofParameters, verifyRebateProof } from './verifyRebateProof.js'
