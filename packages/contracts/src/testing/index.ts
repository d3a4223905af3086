export {
  type DeploySettlementFixtureParameters,
  deploySettlementFixture,
  type SettlementFixture,
} from './deploySettlementFixture.js'
export {
  type MeasureSettlementGasParameters,
  measureSettlementGas,
  type SettlementGas,
} from './measureSettlementGas.js'
export { type Anvil, anvilMnemonic, type StartAnvilParameters, startAnvil } from './startAnvil.js'
