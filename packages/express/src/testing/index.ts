export { type AttestWithParameters, attestWith } from './attestWith.js'
export {
  createFakeAnthropicUpstream,
  type FakeAnthropicUpstream,
  fakeAnthropicMessage,
  fakeAnthropicModel,
  fakeAnthropicStream,
  fakeAnthropicUsage,
} from './createFakeAnthropicUpstream.js'
export { createFakeUpstream, type FakeUpstream, fakeUsage } from './createFakeUpstream.js'
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
