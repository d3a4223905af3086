/**
 * Anthropic Messages responses byte for byte as the API sends them (compact JSON, `event:`
 * before `data:`, LF line ends, a `ping` with its space): the one source of the golden tests of
 * the usage rules here and of the fake Anthropic upstream of `@rma/express/testing` (through
 * the `@rma/core/testing` subpath).
 */

const frame = (event: string, data: string) => `event: ${event}\ndata: ${data}\n\n`

/** The model the fixtures name. */
export const anthropicModel = 'claude-sonnet-4-5-20250929'

/**
 * A streamed answer that wrote 2,044 prompt tokens to the cache and read 1,000: `message_start`
 * carries the input counts (and `output_tokens: 1`), the final `message_delta` the cumulative
 * output count (and, as the API now sends, the input counts again).
 */
export const anthropicCachedStream = [
  frame(
    'message_start',
    `{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"${anthropicModel}","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":2044,"cache_read_input_tokens":1000,"cache_creation":{"ephemeral_5m_input_tokens":2044,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}`,
  ),
  frame(
    'content_block_start',
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  ),
  frame('ping', '{"type": "ping"}'),
  frame(
    'content_block_delta',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
  ),
  frame(
    'content_block_delta',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" wörld 🚀"}}',
  ),
  frame('content_block_stop', '{"type":"content_block_stop","index":0}'),
  frame(
    'content_block_start',
    '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}',
  ),
  frame(
    'content_block_delta',
    '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"Paris\\"}"}}',
  ),
  frame('content_block_stop', '{"type":"content_block_stop","index":1}'),
  frame(
    'message_delta',
    '{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":3,"cache_creation_input_tokens":2044,"cache_read_input_tokens":1000,"output_tokens":89}}',
  ),
  frame('message_stop', '{"type":"message_stop"}'),
].join('')

/** The usage {@link anthropicCachedStream} bills, in OpenAI semantics. */
export const anthropicCachedUsage = {
  inputTokens: 3 + 2044 + 1000,
  cachedInputTokens: 1000,
  cacheWriteTokens: 2044,
  outputTokens: 89,
  reasoningTokens: 0,
}

/**
 * The older stream shape: `message_delta` carries `output_tokens` only, so the input counts
 * come from `message_start` alone.
 */
export const anthropicBasicStream = [
  frame(
    'message_start',
    `{"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"${anthropicModel}","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`,
  ),
  frame(
    'content_block_start',
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  ),
  frame('ping', '{"type": "ping"}'),
  frame(
    'content_block_delta',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
  ),
  frame(
    'content_block_delta',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}',
  ),
  frame('content_block_stop', '{"type":"content_block_stop","index":0}'),
  frame(
    'message_delta',
    '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}',
  ),
  frame('message_stop', '{"type":"message_stop"}'),
].join('')

/** A stream the API ends with an error event after it started. */
export const anthropicOverloadedStream = [
  frame(
    'message_start',
    `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"${anthropicModel}","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`,
  ),
  frame(
    'error',
    '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}',
  ),
].join('')

/**
 * The usage Anthropic bills {@link anthropicCachedMessage} and {@link anthropicCachedStream}
 * with, as it reports it: 3 uncached input tokens, 2,044 written to the prompt cache, 1,000 read
 * from it, 89 output tokens.
 */
export const anthropicCachedRawUsage = {
  input_tokens: 3,
  cache_creation_input_tokens: 2044,
  cache_read_input_tokens: 1000,
  cache_creation: { ephemeral_5m_input_tokens: 2044, ephemeral_1h_input_tokens: 0 },
  output_tokens: 89,
  service_tier: 'standard',
}

/** A non-streamed Messages response with cache reads and writes (the stream's text, as JSON). */
export const anthropicCachedMessage = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: anthropicModel,
  content: [{ type: 'text', text: 'Hello wörld 🚀' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: anthropicCachedRawUsage,
}
