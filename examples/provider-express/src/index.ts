export { providerConfigFromEnv } from './providerConfigFromEnv.js'
export {
  countChatTokens,
  replyTo,
  type StandInModel,
  type StartStandInModelParameters,
  standInModelName,
  startStandInModel,
} from './standInModel.js'
export {
  defaultPrices,
  type Logger,
  type Provider,
  type ProviderConfig,
  startProvider,
} from './startProvider.js'
