import type { Tamper } from './createTamperProxy.js'

/**
 * A {@link Tamper} `json` rewrite of the `rma-receipt` header of JSON responses (the body is
 * left as is): how a hostile server changes a receipt.
 *
 * @example
 * await createTamperProxy(app.url, { json: rewriteReceiptHeader((encoded) => forgeReceipt(encoded, { amount: 1n }, meter, domain)) })
 */
export function rewriteReceiptHeader(rewrite: (encoded: string) => string): Tamper['json'] {
  return ({ headers }) => {
    const encoded = headers.get('rma-receipt')
    if (encoded) headers.set('rma-receipt', rewrite(encoded))
    return undefined
  }
}
