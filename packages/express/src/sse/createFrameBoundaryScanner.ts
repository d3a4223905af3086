/** Finds where the frames of an event stream end, across chunks. */
export type FrameBoundaryScanner = {
  /** Scans the next bytes: the offset just past the last frame they complete, or -1. */
  push(chunk: Uint8Array): number
}

const LF = 10
const CR = 13

/**
 * Tracks the frame boundaries of a `text/event-stream` (a blank line ends a frame; lines end
 * with `\r\n`, `\n` or `\r`, and a chunk may split a `\r\n`). The meter forwards whole frames
 * only, so a client is always between two frames when the meter has to end a stream with its
 * own error event instead of what the upstream sent.
 *
 * @example
 * const scanner = createFrameBoundaryScanner()
 * const end = scanner.push(chunk) // forward chunk.subarray(0, end), hold the rest
 */
export function createFrameBoundaryScanner(): FrameBoundaryScanner {
  let lineLength = 0
  let afterCr = false
  // The last byte seen was a CR that ended a frame.
  let frameCr = false
  return {
    push(chunk) {
      let end = -1
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]
        if (byte === LF && afterCr) {
          // The LF of a CRLF: it belongs to the line break (and frame end) just before it.
          afterCr = false
          if (frameCr) end = i + 1
          frameCr = false
          continue
        }
        afterCr = false
        frameCr = false
        if (byte === LF || byte === CR) {
          if (lineLength === 0) {
            end = i + 1
            frameCr = byte === CR
          }
          lineLength = 0
          afterCr = byte === CR
        } else lineLength++
      }
      return end
    },
  }
}
