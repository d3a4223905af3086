export { appendReceipts } from './appendReceipts.js'
export {
  type CreateTcpProxyOptions,
  createTcpProxy,
  type TcpProxy,
} from './createTcpProxy.js'
