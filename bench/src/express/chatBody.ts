/** A chat request of a realistic size (about 1.5 KB: a system prompt and a question). */
export function chatBody(stream: boolean): string {
  const system =
    'You are a careful assistant for a logistics company. Answer in plain English, cite the ' +
    'shipment ids you rely on, never invent tracking numbers, and say so when you do not know. '
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: system.repeat(6) },
      { role: 'user', content: 'Where is shipment 4471-AB and when will it reach Rotterdam?' },
    ],
    temperature: 0.2,
    max_tokens: 256,
    ...(stream ? { stream: true } : {}),
  })
}
