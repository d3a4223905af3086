/**
 * Where the meter reads a request's headers: a web `Headers`, an Express `Request` (`req.get`)
 * or any adapter's lookup. Names are case-insensitive; a missing header is `null` or undefined.
 *
 * @example
 * const source: HeaderSource = request.headers
 */
export type HeaderSource = { get(name: string): string | null | undefined }
