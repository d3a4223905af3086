export { type Check, checkReport } from './checkReport.js'
export {
  type DemoAsset,
  type DeployDemoAssetParameters,
  deployDemoAsset,
} from './deployDemoAsset.js'
export { demoJSON, formatReport } from './formatReport.js'
export {
  type ChainReport,
  type ReadChainReportParameters,
  type Roles,
  readChainReport,
  roleNames,
  type Settlement,
} from './readChainReport.js'
export {
  type DemoResult,
  demoShares,
  fmtToken,
  type OffChainFacts,
  type RunDemoOptions,
  runDemo,
} from './runDemo.js'
