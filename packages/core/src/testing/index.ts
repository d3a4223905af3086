// `@rma/core/testing`: fixtures other packages' tests share (no test-runner dependency).
export {
  anthropicBasicStream,
  anthropicCachedMessage,
  anthropicCachedRawUsage,
  anthropicCachedStream,
  anthropicCachedUsage,
  anthropicModel,
  anthropicOverloadedStream,
} from './anthropicStreams.js'
