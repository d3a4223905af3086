import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The version of package `name` that owns the file `from` (a path or file URL, for example
 * `import.meta.resolve('@noble/curves/secp256k1')`), read from its package.json, which not
 * every package exports. Baselines then name exactly the code they measured.
 */
export function packageVersion(name: string, from: string): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from)
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (manifest.name === name && typeof manifest.version === 'string') return manifest.version
    } catch {
      // no package.json at this level: keep walking up
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}
