export { type Env, integer, pathOf, required } from './envReaders.js'
export { loadWallet } from './loadWallet.js'
