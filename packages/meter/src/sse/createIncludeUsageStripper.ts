import { isRecord } from '../usage/isRecord.js'

/** A pass-through SSE filter: push upstream bytes in, the filtered bytes go to `write`. */
export type IncludeUsageStripper = {
  /** Takes the next upstream bytes; every frame they complete is written (or dropped) at once. */
  push(chunk: Uint8Array): void
  /** Writes the bytes of an unterminated last frame as they came (upstream sent them). */
  end(): void
}

const LF = 10
const CR = 13
const usageNull = '"usage":null'

/**
 * Undoes `stream_options.include_usage: true` on a Chat Completions stream, for when the proxy
 * added it to a request that did not ask for it (the meter needs the usage; the client must
 * see the stream it asked for). Frames pass through byte for byte, each written as soon as
 * its terminating blank line arrives, except:
 * - the extra usage chunk (a `data:` JSON object with empty `choices` and a non-null `usage`)
 *   is dropped, together with its line break;
 * - every other chunk loses the `"usage":null` member include_usage adds, removed from the
 *   text (`,"usage":null` or `"usage":null,`) so all other bytes stay as upstream sent them.
 *   The removal is checked by re-parsing; JSON that is not compact, or a chunk whose data
 *   spans several `data:` lines, is left as is.
 *
 * Frames with an `event:` field, comments, `[DONE]` and anything that is not a JSON object with
 * a `choices` array pass through unchanged, and so do frames that are not valid UTF-8.
 *
 * @example
 * const stripper = createIncludeUsageStripper((bytes) => res.write(bytes))
 * upstream.on('data', (chunk: Buffer) => {
 *   parser.push(chunk) // the meter still sees the usage chunk
 *   stripper.push(chunk)
 * })
 * upstream.on('end', () => stripper.end())
 */
export function createIncludeUsageStripper(
  write: (bytes: Uint8Array) => void,
): IncludeUsageStripper {
  // Bytes of the current frame that arrived in earlier chunks (copies: callers may reuse buffers).
  let held: Uint8Array[] = []
  let heldLength = 0
  // No byte of the current line has been seen yet.
  let atLineStart = true
  // The last byte seen ended a non-blank line with CR: an LF next belongs to that line break.
  let afterCr = false
  // A frame ended with CR as the last byte of a chunk: an LF starting the next chunk is part of
  // that frame's line break, and is written or dropped with it.
  let trailingLf: 'write' | 'drop' | undefined
  let ended = false

  return {
    push(chunk) {
      if (ended || chunk.length === 0) return
      let i = 0
      if (trailingLf !== undefined) {
        if (chunk[0] === LF) {
          if (trailingLf === 'write') write(chunk.subarray(0, 1))
          i = 1
        }
        trailingLf = undefined
      }
      // Bytes in [passStart, frameStart) are complete frames to write unchanged.
      let passStart = i
      let frameStart = i
      let nextCr = chunk.indexOf(CR, i)
      let nextLf = chunk.indexOf(LF, i)
      while (i < chunk.length) {
        if (afterCr) {
          afterCr = false
          if (chunk[i] === LF) {
            i++
            continue
          }
        }
        if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i)
        if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i)
        const lineBreak = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf)
        if (lineBreak === -1) {
          atLineStart = false
          break
        }
        if (lineBreak > i) atLineStart = false
        const isCr = chunk[lineBreak] === CR
        i = lineBreak + 1
        if (!atLineStart) {
          atLineStart = true
          afterCr = isCr
          continue
        }
        // A blank line: the frame ends here, with the LF of a CRLF if there is one.
        let crAtChunkEnd = false
        if (isCr) {
          if (i === chunk.length) crAtChunkEnd = true
          else if (chunk[i] === LF) i++
        }
        const frame = frameBytes(chunk, frameStart, i)
        const decision = decide(frame)
        if (held.length > 0 || decision !== 'pass') {
          if (frameStart > passStart) write(chunk.subarray(passStart, frameStart))
          if (decision === 'pass') write(frame)
          else if (decision !== 'drop') write(decision)
          passStart = i
          held = []
          heldLength = 0
        }
        if (crAtChunkEnd) trailingLf = decision === 'drop' ? 'drop' : 'write'
        frameStart = i
      }
      if (frameStart > passStart) write(chunk.subarray(passStart, frameStart))
      if (frameStart < chunk.length) {
        held.push(chunk.slice(frameStart))
        heldLength += chunk.length - frameStart
      }
    },
    end() {
      if (ended) return
      ended = true
      if (heldLength > 0) write(concat(held, heldLength))
      held = []
      heldLength = 0
    },
  }

  function frameBytes(chunk: Uint8Array, start: number, end: number): Uint8Array {
    if (held.length === 0) return chunk.subarray(start, end)
    return concat([...held, chunk.subarray(start, end)], heldLength + end - start)
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0]
  const bytes = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  return bytes
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/** What to do with one complete frame: write it as is, drop it, or write these bytes instead. */
function decide(frame: Uint8Array): 'pass' | 'drop' | Uint8Array {
  let text: string
  try {
    text = decoder.decode(frame)
  } catch {
    return 'pass'
  }
  if (!text.includes('"usage"')) return 'pass'
  const data = dataOf(text)
  if (data === undefined) return 'pass'
  let json: unknown
  try {
    json = JSON.parse(data.value)
  } catch {
    return 'pass'
  }
  if (!isRecord(json) || !Array.isArray(json.choices)) return 'pass'
  const usage = json.usage
  if (json.choices.length === 0 && typeof usage === 'object' && usage !== null) return 'drop'
  if (usage !== null || data.start === undefined || data.end === undefined) return 'pass'
  const stripped = withoutUsageNull(data.value, Object.keys(json).length)
  if (stripped === undefined) return 'pass'
  return encoder.encode(text.slice(0, data.start) + stripped + text.slice(data.end))
}

/**
 * The data of a frame without an `event:` field, and where its value sits in the frame text
 * when it is a single `data:` line.
 */
function dataOf(
  text: string,
): { value: string; start: number | undefined; end: number | undefined } | undefined {
  const values: string[] = []
  let start: number | undefined
  let end: number | undefined
  let at = 0
  while (at < text.length) {
    let lineEnd = at
    while (lineEnd < text.length) {
      const c = text.charCodeAt(lineEnd)
      if (c === CR || c === LF) break
      lineEnd++
    }
    const colon = text.indexOf(':', at)
    const hasColon = colon !== -1 && colon < lineEnd
    const field = text.slice(at, hasColon ? colon : lineEnd)
    let valueStart = hasColon ? colon + 1 : lineEnd
    if (hasColon && text.charCodeAt(valueStart) === 32 && valueStart < lineEnd) valueStart++
    if (field === 'event' && valueStart < lineEnd) return undefined
    if (field === 'data') {
      values.push(text.slice(valueStart, lineEnd))
      start = valueStart
      end = lineEnd
    }
    at = lineEnd + (text.charCodeAt(lineEnd) === CR && text.charCodeAt(lineEnd + 1) === LF ? 2 : 1)
  }
  if (values.length === 0) return undefined
  if (values.length > 1) return { value: values.join('\n'), start: undefined, end: undefined }
  return { value: values[0] ?? '', start, end }
}

/**
 * `json` without its top-level `"usage":null` member, removed textually; `undefined` when no
 * removal leaves valid JSON with exactly the other top-level members (not compact, nested).
 */
function withoutUsageNull(json: string, keyCount: number): string | undefined {
  let at = json.indexOf(usageNull)
  while (at !== -1) {
    const after = at + usageNull.length
    let candidate: string | undefined
    if (json.charCodeAt(at - 1) === 44) candidate = json.slice(0, at - 1) + json.slice(after)
    else if (json.charCodeAt(after) === 44) candidate = json.slice(0, at) + json.slice(after + 1)
    if (candidate !== undefined && isTopLevelOnly(json, at, after, candidate, keyCount))
      return candidate
    at = json.indexOf(usageNull, after)
  }
  return undefined
}

/**
 * Whether removing the `"usage":null` at `at` removed the top-level member and nothing else.
 * In valid JSON that text can only be a member (a quote inside a string is escaped), so when it
 * is the only `"usage"` in the text, its nesting depth decides, without parsing again.
 */
function isTopLevelOnly(
  json: string,
  at: number,
  after: number,
  candidate: string,
  keyCount: number,
): boolean {
  const alone = json.lastIndexOf(usageKey, at - 1) === -1 && json.indexOf(usageKey, after) === -1
  return alone ? depthAt(json, at) === 1 : hasOtherMembersOnly(candidate, keyCount)
}

const usageKey = '"usage"'
const QUOTE = 34
const BACKSLASH = 92

/** Nesting depth of valid JSON text at `index`, outside strings (1: in the top-level object). */
function depthAt(json: string, index: number): number {
  let depth = 0
  let inString = false
  for (let i = 0; i < index; i++) {
    const c = json.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) inString = true
    else if (c === 123 || c === 91) depth++
    else if (c === 125 || c === 93) depth--
  }
  return depth
}

function hasOtherMembersOnly(candidate: string, keyCount: number): boolean {
  try {
    const parsed: unknown = JSON.parse(candidate)
    return (
      isRecord(parsed) &&
      !Object.hasOwn(parsed, 'usage') &&
      Object.keys(parsed).length === keyCount - 1
    )
  } catch {
    return false
  }
}
