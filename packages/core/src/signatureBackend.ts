import { currentSignatureBackend, type SignatureBackend } from './internal/recoverSigner.js'

export type { SignatureBackend }

/**
 * Which code recovers signers in `verifyReceipt`, `verifyAttestation`, `verifyAck` and
 * `verifyReceiptChain`, for diagnostics:
 *
 * - `'native'`: libsecp256k1 through the optional dependency `secp256k1` (its N-API build,
 *   about 30 times faster than ethers on one recovery);
 * - `'js'`: ethers' `recoverAddress` (noble, pure JS), used where the native build cannot load
 *   (the package not installed, no binary for the platform, not Node) or when the environment
 *   sets `RMA_SECP256K1=js` (read once, on the first recovery).
 *
 * Both give the same answer for every input. The first call loads the binding if no
 * verification has yet.
 *
 * @example
 * if (signatureBackend() !== 'native') console.warn('@rma/core: slow signature recovery')
 */
export function signatureBackend(): SignatureBackend {
  return currentSignatureBackend()
}
