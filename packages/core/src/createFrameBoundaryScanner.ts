/** Finds where the frames of an event stream end, across chunks. */
export type FrameBoundaryScanner = {
  /**
   * Scans the next bytes: the offset just past the last frame they complete, or -1. With
   * `onFrameEnd`, every such offset is also reported in order; `extension` marks the LF of a
   * CRLF whose CR ended a frame at the end of the previous chunk (those bytes belong to that
   * frame, already reported).
   */
  push(chunk: Uint8Array, onFrameEnd?: (end: number, extension: boolean) => void): number
}

const LF = 10
const CR = 13

/**
 * Tracks the frame boundaries of a `text/event-stream` (a blank line ends a frame; lines end
 * with `\r\n`, `\n` or `\r`, and a chunk may split a `\r\n`), byte by byte, without decoding.
 * The meter forwards whole frames only, so a client is always between two frames when the
 * meter has to end a stream with its own error event; the client cuts the stream into the same
 * frames to find and strip the meter's receipt frame. One rule for both: `createSseParser`
 * dispatches an event exactly where this reports a frame end.
 *
 * @example
 * const scanner = createFrameBoundaryScanner()
 * const end = scanner.push(chunk) // forward chunk.subarray(0, end), hold the rest
 */
export function createFrameBoundaryScanner(): FrameBoundaryScanner {
  let lineLength = 0
  let afterCr = false
  // The previous byte of this chunk was a CR that ended a frame: a LF now belongs to it.
  let pendingCr = false
  // The previous chunk ended with a CR that ended a frame (reported there).
  let crossCr = false
  return {
    push(chunk, onFrameEnd) {
      let end = -1
      const report = (at: number, extension: boolean) => {
        end = at
        onFrameEnd?.(at, extension)
      }
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]
        if (pendingCr) {
          pendingCr = false
          if (byte === LF) {
            afterCr = false
            report(i + 1, false)
            continue
          }
          report(i, false)
        } else if (crossCr) {
          crossCr = false
          if (byte === LF) {
            afterCr = false
            report(i + 1, true)
            continue
          }
        }
        if (byte === LF && afterCr) {
          // The LF of a CRLF line break that did not end a frame.
          afterCr = false
          continue
        }
        afterCr = false
        if (byte === LF || byte === CR) {
          if (lineLength === 0) {
            if (byte === CR) pendingCr = true
            else report(i + 1, false)
          }
          lineLength = 0
          afterCr = byte === CR
        } else lineLength++
      }
      if (pendingCr) {
        pendingCr = false
        crossCr = true
        report(chunk.length, false)
      }
      return end
    },
  }
}
