export { openaiProxyRoute } from './openaiProxyRoute.js'
export type { RouteHandler } from './RouteHandler.js'
export { rmaRoutesRoute } from './rmaRoutesRoute.js'
export { withRmaMeter } from './withRmaMeter.js'
