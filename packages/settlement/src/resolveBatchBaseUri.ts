import type { SettlerOptions } from './createSettler.js'

/**
 * `batchBaseUri` as given, else `<publicUrl>/rma/batches` (where rmaRouter's `batches` option
 * serves `batchDir`), else the empty string (refused by `createSettler`).
 *
 * @example
 * resolveBatchBaseUri({ publicUrl: 'https://provider.example' }) // 'https://provider.example/rma/batches'
 */
export function resolveBatchBaseUri(
  options: Pick<SettlerOptions, 'batchBaseUri' | 'publicUrl'>,
): string {
  if (typeof options.batchBaseUri === 'string' && options.batchBaseUri !== '')
    return options.batchBaseUri
  if (typeof options.publicUrl === 'string' && options.publicUrl !== '')
    return `${options.publicUrl.replace(/\/+$/, '')}/rma/batches`
  return ''
}
