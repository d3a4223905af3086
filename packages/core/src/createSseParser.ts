/** One message dispatched from a Server-Sent Events stream. */
export type SseEvent = {
  /** The frame's `event:` field; `undefined` when it had none (EventSource calls that "message"). */
  event: string | undefined
  /** The frame's `data:` lines, joined with `\n`. */
  data: string
  /** The last `id:` seen on the stream so far: as in EventSource, an id persists across frames. */
  id: string | undefined
}

/** An incremental SSE parser: feed it bytes as they arrive. */
export type SseParser = {
  /** Parses the next bytes of the stream; `onEvent` is called for each frame they complete. */
  push(chunk: Uint8Array): void
  /** Marks the end of the stream. A frame without its terminating blank line is dropped. */
  end(): void
}

const LF = 10

/**
 * Creates an incremental parser for a `text/event-stream` body, following the WHATWG
 * EventSource rules: lines end with `\r\n`, `\n` or `\r`; `data:` lines are joined with `\n`;
 * one space after the colon is dropped; lines starting with `:` are comments; unknown fields
 * (and `retry:`) are ignored; a blank line dispatches the frame if it had data.
 *
 * Chunks may split the stream anywhere, including inside a UTF-8 sequence or between the `\r`
 * and `\n` of one line break. The work per chunk is linear in the chunk's size: the current
 * line is the only text kept between chunks, and only new text is scanned. An exception
 * thrown by `onEvent` propagates out of `push`.
 *
 * @example
 * const parser = createSseParser((e) => observer.onEvent(e))
 * upstream.on('data', (chunk: Buffer) => parser.push(chunk))
 * upstream.on('end', () => parser.end())
 */
export function createSseParser(onEvent: (event: SseEvent) => void): SseParser {
  const decoder = new TextDecoder()
  // Text of the current line that arrived before its line break.
  let pending = ''
  // The last text ended with `\r`: a `\n` starting the next text completes that line break.
  let skipLf = false
  let data = ''
  let hasData = false
  let eventType = ''
  let lastId: string | undefined
  let ended = false

  function dispatch() {
    if (!hasData) {
      eventType = ''
      return
    }
    const event: SseEvent = { event: eventType === '' ? undefined : eventType, data, id: lastId }
    data = ''
    hasData = false
    eventType = ''
    onEvent(event)
  }

  function processLine(line: string) {
    if (line === '') return dispatch()
    const colon = line.indexOf(':')
    if (colon === 0) return
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ''
    } else {
      field = line.slice(0, colon)
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1)
    }
    if (field === 'data') {
      data = hasData ? `${data}\n${value}` : value
      hasData = true
    } else if (field === 'event') eventType = value
    else if (field === 'id') {
      if (!value.includes('\0')) lastId = value
    }
  }

  function feed(text: string) {
    if (text === '') return
    let start = 0
    if (skipLf) {
      skipLf = false
      if (text.charCodeAt(0) === LF) start = 1
    }
    let cr = text.indexOf('\r', start)
    let lf = text.indexOf('\n', start)
    while (cr !== -1 || lf !== -1) {
      let end: number
      let next: number
      if (lf === -1 || (cr !== -1 && cr < lf)) {
        end = cr
        if (lf === cr + 1) next = cr + 2
        else {
          next = cr + 1
          if (next === text.length) skipLf = true
        }
      } else {
        end = lf
        next = lf + 1
      }
      const line = pending === '' ? text.slice(start, end) : pending + text.slice(start, end)
      pending = ''
      start = next
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      processLine(line)
    }
    // V8 concatenates strings as ropes, so a long line arriving in many chunks stays linear.
    if (start < text.length) pending += start === 0 ? text : text.slice(start)
  }

  return {
    push(chunk) {
      if (ended || chunk.length === 0) return
      feed(decoder.decode(chunk, { stream: true }))
    },
    end() {
      if (ended) return
      ended = true
      decoder.decode()
      pending = ''
      data = ''
      hasData = false
      eventType = ''
    },
  }
}
