// The framework-free helpers live in @rma/meter/testing; re-exported for existing imports.
export {
  type AttestWithParameters,
  attestWith,
  createFakeAnthropicUpstream,
  createFakeUpstream,
  type FakeAnthropicUpstream,
  type FakeUpstream,
  fakeAnthropicBilled,
  fakeAnthropicMessage,
  fakeAnthropicModel,
  fakeAnthropicPrices,
  fakeAnthropicStream,
  fakeAnthropicUsage,
  fakeUsage,
} from '@rma/meter/testing'
export {
  type AttestTarget,
  assetId,
  attest,
  attestingFetch,
  chainId,
  createMeteredApp,
  type MeteredApp,
  prices,
  settlementContract,
} from './createMeteredApp.js'
