import type { Endpoint } from '@rma/core'

/**
 * The generated text of a JSON response, for estimating output tokens when the upstream
 * reported no usage: chat message content, refusals and tool-call arguments; completion text;
 * Responses API output text and function-call arguments; Anthropic content blocks (text,
 * thinking, tool names and inputs). Embeddings have no output.
 *
 * @example
 * outputTextOf('chat', { choices: [{ message: { content: 'Hi' } }] }) // 'Hi'
 */
export function outputTextOf(endpoint: Endpoint, body: unknown): string {
  const parts: string[] = []
  const add = (value: unknown) => {
    if (typeof value === 'string') parts.push(value)
  }
  const record = (value: unknown) =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  const list = (value: unknown) => (Array.isArray(value) ? value : [])
  const root = record(body)
  if (endpoint === 'chat' || endpoint === 'completions')
    for (const choice of list(root.choices)) {
      const c = record(choice)
      add(c.text)
      const message = record(c.message)
      add(message.content)
      add(message.refusal)
      for (const call of list(message.tool_calls)) {
        const fn = record(record(call).function)
        add(fn.name)
        add(fn.arguments)
      }
    }
  if (endpoint === 'responses')
    for (const item of list(root.output)) {
      const it = record(item)
      add(it.arguments)
      for (const content of list(it.content)) {
        const c = record(content)
        add(c.text)
        add(c.refusal)
      }
    }
  if (endpoint === 'messages')
    for (const block of list(root.content)) {
      const b = record(block)
      add(b.text)
      add(b.thinking)
      if (b.type === 'tool_use') {
        add(b.name)
        add(JSON.stringify(b.input ?? {}))
      }
    }
  return parts.join('')
}
