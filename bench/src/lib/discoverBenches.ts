import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'

/**
 * Every `*.bench.ts` file under `root`, as paths relative to it with `/` separators, sorted so
 * runs are in a stable order. `filters` keep only paths containing one of them.
 */
export async function discoverBenches(
  root: string,
  filters: readonly string[] = [],
): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.bench.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .filter((path) => filters.length === 0 || filters.some((filter) => path.includes(filter)))
    .sort()
}
