import {
  parseSettlementError,
  rmaSettlementAbi,
  toAttestationStruct,
  toPriceEntryStruct,
  toReceiptStruct,
} from '@rma/contracts'
import { type Address, type Fraud, fraudKinds, type Hex } from '@rma/core'
import { Contract, Interface, Signature, type Signer } from 'ethers'
import { FraudProofRejectedError, InvalidClientOptionsError } from './errors.js'

export type ProveFraudParameters = {
  /** A fraud found by `findFraud` (or `client.rma.frauds()`). */
  fraud: Fraud
  /** Sends the proof and receives the bounty; connected to a provider. */
  signer: Signer
  /** The settlement contract the receipts are signed for (their EIP-712 `verifyingContract`). */
  settlement: Address
}

/** What the contract's `FraudProven` event says the proof paid. */
export type ProveFraudReturnType = {
  txHash: Hex
  kind: Fraud['kind']
  /** The contract's hash of the proven receipt (for an equivocation: as it reports it). */
  receiptHash: Hex
  /** Paid to the harmed user. */
  compensation: bigint
  /** Paid to the challenger (`signer`). */
  bounty: bigint
  challenger: Address
}

const settlementInterface = new Interface(rmaSettlementAbi)
const kindOf = Object.fromEntries(Object.entries(fraudKinds).map(([k, v]) => [v, k])) as Record<
  number,
  Fraud['kind']
>

/**
 * Submits the proof of one fraud in one transaction (`proveEquivocation`, `proveOvercharge` or
 * `proveMispricing`) and returns what its `FraudProven` event paid. The call is dry-run first:
 * a proof the contract would refuse (already proven, too old, an unauthorised meter, an
 * uncommitted price table) throws {@link FraudProofRejectedError} with the contract's reason
 * and sends nothing.
 *
 * @example
 * const [fraud] = findFraud({ domain, receipts, attestations })
 * const { txHash, compensation, bounty } = await proveFraud({ fraud, signer, settlement })
 */
export async function proveFraud(parameters: ProveFraudParameters): Promise<ProveFraudReturnType> {
  const { fraud, signer, settlement } = parameters
  if (!signer.provider)
    throw new InvalidClientOptionsError({
      shortMessage: 'Proving a fraud needs a signer connected to a provider.',
      details: 'Pass `{ signer }` connected to the chain of the settlement contract.',
    })
  const contract = new Contract(settlement, rmaSettlementAbi, signer)
  const { method, args } = callOf(fraud)
  const call = contract.getFunction(method)
  try {
    await call.staticCall(...args)
  } catch (error) {
    throw rejected(error, undefined)
  }
  let txHash: Hex | undefined
  try {
    const tx = await call.send(...args)
    txHash = tx.hash as Hex
    const mined = await tx.wait()
    for (const log of mined?.logs ?? []) {
      const parsed = parseLog(log)
      if (parsed?.name !== 'FraudProven') continue
      return {
        txHash,
        kind: kindOf[Number(parsed.args.kind)] ?? fraud.kind,
        receiptHash: parsed.args.receiptHash as Hex,
        compensation: parsed.args.compensation as bigint,
        bounty: parsed.args.bounty as bigint,
        challenger: (parsed.args.challenger as string).toLowerCase() as Address,
      }
    }
    throw new FraudProofRejectedError({
      details: `Transaction ${txHash} was mined without a FraudProven event: is ${settlement} the settlement contract?`,
      sent: true,
    })
  } catch (error) {
    if (error instanceof FraudProofRejectedError) throw error
    throw rejected(error, txHash)
  }
}

function callOf(fraud: Fraud): { method: string; args: unknown[] } {
  switch (fraud.kind) {
    case 'equivocation':
      return {
        method: 'proveEquivocation',
        args: [
          toReceiptStruct(fraud.a),
          canonical(fraud.a.signature),
          toReceiptStruct(fraud.b),
          canonical(fraud.b.signature),
        ],
      }
    case 'overcharge':
      return {
        method: 'proveOvercharge',
        args: [
          toReceiptStruct(fraud.receipt),
          canonical(fraud.receipt.signature),
          toAttestationStruct(fraud.attestation),
          canonical(fraud.attestation.signature),
        ],
      }
    case 'mispricing':
      return {
        method: 'proveMispricing',
        args: [
          toReceiptStruct(fraud.receipt),
          canonical(fraud.receipt.signature),
          toPriceEntryStruct(fraud.entry),
          fraud.proof,
        ],
      }
  }
}

/**
 * The 65-byte r ‖ s ‖ v (v 27 or 28) form the contract takes of a signature the client accepted
 * in another (64-byte EIP-2098 compact, or an EIP-155 v): a meter cannot make its receipts
 * unprovable by its choice of encoding. A signature ethers cannot parse is passed as it is.
 */
function canonical(signature: Hex): Hex {
  try {
    return Signature.from(signature).serialized as Hex
  } catch {
    return signature
  }
}

function parseLog(log: { topics: readonly string[]; data: string }) {
  try {
    return settlementInterface.parseLog(log)
  } catch {
    return null
  }
}

function rejected(error: unknown, txHash: Hex | undefined): FraudProofRejectedError {
  const reverted = parseSettlementError(error)
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return new FraudProofRejectedError({
    reason: reverted?.name,
    details: `${reverted?.message ?? message}${txHash ? ` (transaction ${txHash} reverted)` : ''}`,
    sent: txHash !== undefined,
    cause: error,
  })
}
