import type { CommandContext } from './Command.js'

/**
 * The provider's URL: `--provider` / RMA_PROVIDER_URL, else the client's RMA_BASE_URL without
 * its `/v1` (the same server serves `/rma/*`); `undefined` when neither is an http(s) URL.
 *
 * @example
 * providerUrlOf(context.options, { RMA_BASE_URL: 'http://127.0.0.1:8787/v1' }) // 'http://127.0.0.1:8787'
 */
export function providerUrlOf(
  options: CommandContext['options'],
  env: CommandContext['env'],
): string | undefined {
  const given =
    (options.provider as string | undefined) ?? env.RMA_BASE_URL?.replace(/\/v1\/?$/, '')
  if (!given || !/^https?:\/\//i.test(given)) return undefined
  return given.replace(/\/+$/, '')
}
