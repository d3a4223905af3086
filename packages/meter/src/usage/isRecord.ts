/**
 * Whether a parsed JSON value is an object (not an array, not null): the guard every reader of
 * untrusted request and response bodies starts with.
 *
 * @example
 * isRecord(JSON.parse('{"usage":null}')) // true
 * isRecord(JSON.parse('[1]')) // false
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
