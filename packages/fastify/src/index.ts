export { keepRawBodies } from './keepRawBodies.js'
export { meteredHandler } from './meteredHandler.js'
export { openaiProxy } from './openaiProxy.js'
export { toWebRequest } from './toWebRequest.js'
