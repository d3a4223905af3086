export { openaiProxyRoute } from './openaiProxyRoute.js'
export type { RouteHandler } from './RouteHandler.js'
export { withRmaMeter } from './withRmaMeter.js'
