export {
  type CreateTcpProxyOptions,
  createTcpProxy,
  type TcpProxy,
} from './createTcpProxy.js'
