export { openaiProxy } from './openaiProxy.js'
export type { RmaEnv } from './RmaEnv.js'
export { rmaMeter } from './rmaMeter.js'
export { rmaRoutes } from './rmaRoutes.js'
