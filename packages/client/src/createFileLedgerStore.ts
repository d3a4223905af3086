import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { LedgerEntry, LedgerStore } from './createMemoryLedgerStore.js'

/**
 * A ledger store in a JSON Lines file (one entry per line, appended, never rewritten), so the
 * user's receipts and acks survive restarts and chains continue where they stopped. Appends are
 * written one at a time, in order. A torn last line (a crash mid-write) is skipped on load.
 *
 * @example
 * const client = withRMA(openai, { ...options, store: createFileLedgerStore({ path: './.rma/ledger.jsonl' }) })
 */
export function createFileLedgerStore(options: { path: string }): LedgerStore {
  const { path } = options
  let queue: Promise<unknown> = mkdir(dirname(path), { recursive: true })
  return {
    async load() {
      await queue
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw error
      }
      const entries: LedgerEntry[] = []
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue
        try {
          entries.push(JSON.parse(line) as LedgerEntry)
        } catch {}
      }
      return entries
    },
    append(entry) {
      const write = queue.then(() => appendFile(path, `${JSON.stringify(entry)}\n`, 'utf8'))
      queue = write.catch(() => undefined)
      return write
    },
  }
}
