/**
 * The top-level members of a request body the meter and `openaiProxy` read: the model, whether
 * it streams and its stream options, and every bound of its output (for the worst-case price).
 * A large body is parsed off the server thread and only these come back.
 */
export const requestFieldNames = [
  'model',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'n',
  'best_of',
] as const

/** The members of {@link requestFieldNames} a body has (absent ones are absent here too). */
export type RequestFields = Partial<Record<(typeof requestFieldNames)[number], unknown>>

/**
 * The {@link requestFieldNames} members of a parsed body, as they are (an absent member stays
 * absent, so `Object.hasOwn` answers as on the body).
 *
 * @example
 * requestFields({ model: 'gpt-4o-mini', messages: [] }) // { model: 'gpt-4o-mini' }
 */
export function requestFields(body: Record<string, unknown>): RequestFields {
  const fields: Record<string, unknown> = {}
  for (const name of requestFieldNames) if (Object.hasOwn(body, name)) fields[name] = body[name]
  return fields
}
