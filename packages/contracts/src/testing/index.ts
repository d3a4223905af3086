export {
  type DeploySettlementFixtureParameters,
  deploySettlementFixture,
  type SettlementFixture,
} from './deploySettlementFixture.js'
export { type FraudGas, measureFraudGas } from './measureFraudGas.js'
export {
  type MeasurePrepaidGasParameters,
  measurePrepaidGas,
  type PrepaidGas,
} from './measurePrepaidGas.js'
export {
  type MeasureSettlementGasParameters,
  measureSettlementGas,
  type SettlementGas,
} from './measureSettlementGas.js'
export {
  type AckFields,
  ackDigestOf,
  receiptAckTypes,
  rmaDomain,
  signVoucher,
} from './signVoucher.js'
export { type Anvil, anvilMnemonic, type StartAnvilParameters, startAnvil } from './startAnvil.js'
