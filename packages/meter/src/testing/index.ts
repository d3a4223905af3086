export { type AttestTarget, attest, attestingFetch } from './attestingFetch.js'
export { type AttestWithParameters, attestWith } from './attestWith.js'
export {
  createFakeAnthropicUpstream,
  type FakeAnthropicUpstream,
  fakeAnthropicBilled,
  fakeAnthropicMessage,
  fakeAnthropicModel,
  fakeAnthropicPrices,
  fakeAnthropicStream,
  fakeAnthropicUsage,
} from './createFakeAnthropicUpstream.js'
export { createFakeUpstream, type FakeUpstream, fakeUsage } from './createFakeUpstream.js'
export { type ServedFetch, type ServeFetchHandler, serveFetch } from './serveFetch.js'
export { assetId, chainId, prices, settlementContract } from './testAsset.js'
