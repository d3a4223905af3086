import type { CreateRmaRoutesOptions, Meter, OpenAIProxyOptions } from '@rma/meter'

/** Options of {@link rmaMeterPlugin}. */
export type RmaMeterPluginOptions = {
  meter: Meter
  /** Forward `POST /v1/*` to this upstream through the meter; omit to register your own routes. */
  proxy?: OpenAIProxyOptions
  /** Options of the `/rma` routes besides the meter (operator token, …); `false`: none. */
  routes?: Omit<CreateRmaRoutesOptions, 'meter'> | false
}
