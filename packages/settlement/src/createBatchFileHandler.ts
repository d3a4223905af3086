import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'

// Only content-addressed names: `<assetId>/<batchHash>.json` and `.proofs.json`. Nothing else
// under the directory (temporary files, other files) is reachable, and no path can climb out.
const namePattern = /^\/(0x[0-9a-f]{64})\/(0x[0-9a-f]{64})(\.proofs)?\.json$/

/**
 * A Node HTTP handler serving a settler's batch directory: batch files and proof indexes by
 * their content-addressed names, immutable (cached for a year), and errors as OpenAI-shaped
 * JSON. Mount it where `batchBaseUri` points.
 *
 * @example
 * const handler = createBatchFileHandler({ batchDir: './.rma/batches' })
 * http.createServer(handler).listen(8788) // batchBaseUri: 'http://127.0.0.1:8788'
 * app.use('/rma/batches', handler)        // or under an Express app
 */
export function createBatchFileHandler(options: { batchDir: string }) {
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
    const size = await stat(file).then(
      (s) => (s.isFile() ? s.size : undefined),
      () => undefined,
    )
    if (size === undefined) return fail(404, 'rma_not_found', `No batch file ${path}.`)
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': size,
      'cache-control': 'public, max-age=31536000, immutable',
    })
    if (req.method === 'HEAD') return res.end()
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res)
  }
}
