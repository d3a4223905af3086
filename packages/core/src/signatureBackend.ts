import { currentSignatureBackend, type SignatureBackend } from './internal/nativeSecp256k1.js'

export type { SignatureBackend }

/**
 * Which code recovers signers in `verifyReceipt`, `verifyAttestation`, `verifyAck` and
 * `verifyReceiptChain`, and signs with local keys (an ethers `Wallet`) in `signReceipt`,
 * `signAttestation` and `signAck`, for diagnostics:
 *
 * - `'native'`: libsecp256k1 through the optional dependency `secp256k1` (its N-API build,
 *   about 30 times faster than ethers on one recovery and 7 times on one signature);
 * - `'js'`: ethers' `recoverAddress` and `SigningKey.sign` (noble, pure JS), used where the
 *   native build cannot load (the package not installed, no binary for the platform, not Node)
 *   or when the environment sets `RMA_SECP256K1=js` (read once, on the first signature or recovery).
 *
 * Both give the same answer for every input, signatures included (RFC 6979 nonces). The first
 * call loads the binding if no signature has yet.
 *
 * @example
 * if (signatureBackend() !== 'native') console.warn('@rma/core: slow signatures')
 */
export function signatureBackend(): SignatureBackend {
  return currentSignatureBackend()
}
