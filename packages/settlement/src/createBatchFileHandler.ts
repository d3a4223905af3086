import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { hashBytes } from '@rma/core'

// Only content-addressed names: `<assetId>/<batchHash>.json` and `.proofs.json`. Nothing else
// under the directory (temporary files, other files) is reachable, and no path can climb out.
const namePattern = /^\/(0x[0-9a-f]{64})\/(0x[0-9a-f]{64})(\.proofs)?\.json$/

/**
 * A Node HTTP handler serving a settler's batch directory: batch files and proof indexes by
 * their content-addressed names, immutable (`Cache-Control: public, max-age=31536000,
 * immutable`), with the keccak256 of the bytes served as `ETag` (for a batch file, its
 * on-chain `batchHash`; `If-None-Match` answers 304), and errors as OpenAI-shaped JSON. Mount
 * it where `batchBaseUri` points, or pass it to rmaRouter's `batches` option.
 *
 * @example
 * const handler = createBatchFileHandler({ batchDir: './.rma/batches' })
 * http.createServer(handler).listen(8788) // batchBaseUri: 'http://127.0.0.1:8788'
 * app.use('/rma/batches', handler)        // or under an Express app
 */
export function createBatchFileHandler(options: { batchDir: string }) {
  // The hash of each file as last read, keyed by path and checked against its size and mtime:
  // files are written once, so each is hashed once, and a file changed on disk is hashed again
  // (its ETag then shows the change instead of hiding it).
  const etags = new Map<string, { size: number; mtimeMs: number; etag: string }>()
  const etagOf = async (file: string, size: number, mtimeMs: number) => {
    const known = etags.get(file)
    if (known && known.size === size && known.mtimeMs === mtimeMs) return known.etag
    const etag = `"${hashBytes(await readFile(file))}"`
    if (etags.size >= 10_000) etags.delete(etags.keys().next().value as string)
    etags.set(file, { size, mtimeMs, etag })
    return etag
  }
  return async function batchFileHandler(req: IncomingMessage, res: ServerResponse) {
    const fail = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ error: { message, type: 'invalid_request_error', code, param: null } }),
      )
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return fail(405, 'rma_method_not_allowed', 'Batch files are read with GET.')
    const path = (req.url ?? '/').split('?')[0]!.toLowerCase()
    const match = namePattern.exec(path)
    if (!match)
      return fail(404, 'rma_not_found', 'Batch files are named /<assetId>/<batchHash>.json.')
    const file = join(options.batchDir, match[1]!, `${match[2]}${match[3] ?? ''}.json`)
    const info = await stat(file).then(
      (s) => (s.isFile() ? s : undefined),
      () => undefined,
    )
    if (info === undefined) return fail(404, 'rma_not_found', `No batch file ${path}.`)
    const etag = await etagOf(file, info.size, info.mtimeMs).catch(() => undefined)
    if (etag === undefined) return fail(404, 'rma_not_found', `No batch file ${path}.`)
    const cacheHeaders = { 'cache-control': 'public, max-age=31536000, immutable', etag }
    if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(etag)) {
      res.writeHead(304, cacheHeaders)
      return res.end()
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': info.size,
      ...cacheHeaders,
    })
    if (req.method === 'HEAD') return res.end()
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res)
  }
}
