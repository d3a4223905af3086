export {
  feeOnTransferTokenAbi,
  feeOnTransferTokenBytecode,
} from './artifacts/FeeOnTransferToken.js'
export {
  phantomPermitTokenAbi,
  phantomPermitTokenBytecode,
} from './artifacts/PhantomPermitToken.js'
export { rebasingTokenAbi, rebasingTokenBytecode } from './artifacts/RebasingToken.js'
export { rmaFraudVerifierAbi, rmaFraudVerifierBytecode } from './artifacts/RMAFraudVerifier.js'
export { rmaPenaltyAbi, rmaPenaltyBytecode } from './artifacts/RMAPenalty.js'
export {
  rmaSettlementAbi,
  rmaSettlementBytecode,
  rmaSettlementLinkReferences,
} from './artifacts/RMASettlement.js'
export { testTokenAbi, testTokenBytecode } from './artifacts/TestToken.js'
export { assetIdOf } from './assetIdOf.js'
export type { ContractsErrorType } from './ContractsErrorType.js'
export {
  type DeploySettlementParameters,
  type DeploySettlementReturnType,
  defaultProofWindow,
  defaultWithdrawalDelay,
  deploySettlement,
} from './deploySettlement.js'
export {
  type DeployTestTokenParameters,
  type DeployTestTokenReturnType,
  deployTestToken,
} from './deployTestToken.js'
export {
  MissingLibraryAddressError,
  TransactionNotMinedError,
  UnknownUsageSourceError,
} from './errors.js'
export { getSettlementContract } from './getSettlementContract.js'
export {
  getTestTokenContract,
  type TestTokenKind,
  testTokenAbiOf,
} from './getTestTokenContract.js'
export { type LinkBytecodeErrorType, type LinkReferences, linkBytecode } from './linkBytecode.js'
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
export { type AttestationStruct, toAttestationStruct } from './toAttestationStruct.js'
export {
  type PriceEntryInput,
  type PriceEntryStruct,
  toPriceEntryStruct,
} from './toPriceEntryStruct.js'
export { type ReceiptInput, type ReceiptStruct, toReceiptStruct } from './toReceiptStruct.js'
export { toVoucher, type VoucherAck } from './toVoucher.js'
export type {
  AssetView,
  EpochRebatesView,
  EpochStateView,
  PendingStakeView,
  PrepaidBalanceView,
  RebateClaim,
  RiskView,
  RmaSettlementContract,
  SettledVoucherView,
  StakeAtRiskView,
  StakeView,
  TestTokenContract,
  Voucher,
} from './types.js'
export { type VerifyRebateProofParameters, verifyRebateProof } from './verifyRebateProof.js'
