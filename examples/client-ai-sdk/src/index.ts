export {
  type CreateRmaProvidersParameters,
  type CreateRmaProvidersReturnType,
  createRmaProviders,
} from './createRmaProviders.js'
