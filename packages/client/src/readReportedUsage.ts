import { parseOpenAIUsage, type Usage } from '@rma/core'

/** What one response body (or one stream event) says about the call's usage. */
export type ReportedUsage = {
  usage: Usage | undefined
  model: string | undefined
  /** The body reports a failure: an error object, `response.failed` or `response.incomplete`. */
  failed: boolean
}

/**
 * Reads usage and model the way `@rma/express` does: Chat Completions, Completions and
 * Embeddings bodies (and chat chunks) at `usage` / `model`; Responses API objects likewise, and
 * Responses stream events through their `response`. A malformed usage reads as none (the
 * meter then estimates). Never throws.
 *
 * @example
 * readReportedUsage(JSON.parse(text)).usage // { inputTokens: 1200, cachedInputTokens: 1024, ... }
 */
export function readReportedUsage(body: unknown, event?: string | null): ReportedUsage {
  if (!isRecord(body)) return { usage: undefined, model: undefined, failed: false }
  const type = typeof body.type === 'string' ? body.type : (event ?? undefined)
  let failed =
    event === 'error' ||
    type === 'error' ||
    type === 'response.failed' ||
    type === 'response.incomplete' ||
    (body.error !== undefined && body.error !== null) ||
    body.object === 'error'
  const source = type?.startsWith('response.') && isRecord(body.response) ? body.response : body
  if (source !== body && source.status === 'failed') failed = true
  const model = typeof source.model === 'string' && source.model !== '' ? source.model : undefined
  let usage: Usage | undefined
  if (source.usage !== undefined && source.usage !== null) {
    try {
      usage = parseOpenAIUsage(source.usage)
    } catch {}
  }
  return { usage, model, failed }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
