export { keepRawBodies } from './keepRawBodies.js'
export { meteredHandler } from './meteredHandler.js'
export { toWebRequest } from './toWebRequest.js'
