import { Interface, type Result } from 'ethers'
import { rmaFraudVerifierAbi } from './artifacts/RMAFraudVerifier.js'
import { rmaSettlementAbi } from './artifacts/RMASettlement.js'

// The contract's own errors, the fraud verifier's (a fraud proof's revert comes from it,
// passed through unchanged), plus what a token may revert with inside a transfer (OpenZeppelin's
// ERC-6093 errors) and what SafeERC20 reports for a token that returns false.
const settlementInterface = new Interface([
  ...rmaSettlementAbi,
  ...rmaFraudVerifierAbi.filter((item) => item.type === 'error'),
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC20InvalidSender(address sender)',
  'error ERC20InvalidReceiver(address receiver)',
  'error ERC2612ExpiredSignature(uint256 deadline)',
  'error ERC2612InvalidSigner(address signer, address owner)',
])

export type SettlementError = {
  /** The custom error's name, for example `BadEpoch`. */
  name: string
  /** Its arguments (for `BadEpoch`: `args.expected`, the epoch to settle next). */
  args: Result
  signature: string
  /** What went wrong, as a plain sentence (for logs and error messages). */
  message: string
}

export type ParseSettlementErrorOptions = {
  /**
   * Names of accounts for the message, by address (any case), e.g.
   * `{ [settler.address]: 'the settler' }` turns "0x70…79c8 holds 0 of 513 needed" into
   * "the settler holds 0 of 513 needed".
   */
  names?: Record<string, string>
}

/**
 * Decodes a custom error of the settlement contract (or of a token transfer inside it) out of
 * whatever ethers threw (a failed `estimateGas`, `staticCall` or call), with a plain sentence
 * saying what went wrong. Returns `null` when the error carries no revert data it knows. ethers
 * decodes custom errors only for `staticCall`; a signer's `sendTransaction` reports the raw
 * revert data, which this finds.
 *
 * @example
 * try {
 *   await settlement.settle(assetId, epoch, revenue, receiptsRoot, rebateRoot, count, uri, hash)
 * } catch (error) {
 *   const reverted = parseSettlementError(error, { names: { [settler]: 'the settler' } })
 *   if (reverted?.name === 'BadEpoch') epoch = Number(reverted.args.expected)
 *   else if (reverted) log(reverted.message) // "the settler holds 0 of 513 needed"
 * }
 */
export function parseSettlementError(
  error: unknown,
  options: ParseSettlementErrorOptions = {},
): SettlementError | null {
  const data = findRevertData(error, 0)
  if (!data) return null
  try {
    const parsed = settlementInterface.parseError(data)
    if (!parsed) return null
    const names = Object.fromEntries(
      Object.entries(options.names ?? {}).map(([address, name]) => [address.toLowerCase(), name]),
    )
    const who = (address: unknown) => names[String(address).toLowerCase()] ?? String(address)
    return {
      name: parsed.name,
      args: parsed.args,
      signature: parsed.signature,
      message: describeError(parsed.name, parsed.args, who),
    }
  } catch {
    return null
  }
}

function describeError(name: string, args: Result, who: (address: unknown) => string): string {
  switch (name) {
    case 'InvalidShares':
      return 'the four shares must add up to 10,000 bps'
    case 'AssetExists':
      return 'this issuer already registered an asset with this salt'
    case 'UnknownAsset':
      return 'no asset is registered under this id'
    case 'ZeroAddress':
      return 'an address argument is the zero address'
    case 'InvalidUnbondingDelay':
      return 'the unbonding delay must be between 1 day and 365 days'
    case 'NotIssuer':
      return "only the asset's issuer may do this"
    case 'NotPendingIssuer':
      return 'only the account the issuer role was offered to may accept it'
    case 'NotSettler':
      return "only the asset's settler may settle it"
    case 'BadEpoch':
      return `wrong epoch: the next epoch to settle is ${args[0]}`
    case 'ZeroAmount':
      return 'the amount is zero (or nothing arrived)'
    case 'AmountTooLarge':
      return `the amount exceeds the contract's bound of ${args[0]} base units`
    case 'InsufficientStake':
      return 'the supporter has less stake than requested'
    case 'StillUnbonding':
      return 'the unbonding delay has not passed yet'
    case 'NothingToWithdraw':
      return 'nothing to withdraw (no stake unbonding, or no prepaid withdrawal requested)'
    case 'InvalidProof':
      return "the proof does not match the epoch's rebate root (or the epoch has no rebates)"
    case 'RebateAlreadyClaimed':
      return `the rebate of epoch ${args[0]} was already claimed`
    case 'NothingToClaim':
      return 'nothing to claim'
    case 'RebatesExceedFunded':
      return `the claims of epoch ${args[0]} would exceed what the epoch funded`
    case 'MissingRebateRoot':
      return 'a batch with a users’ share needs a rebate root'
    case 'InsufficientDeposit':
      return `the deposit holds only ${args[0]}`
    case 'IncompleteAssetList':
      return `list every asset paid in the token, ascending (${args[0]} of them)`
    case 'NothingToSkim':
      return 'the contract holds nothing beyond what it owes in this token'
    case 'OwnerRequired':
      return 'the contract must keep an owner (it receives the protocol fees)'
    case 'InvalidWithdrawalDelay':
      return 'the withdrawal delay must be between 1 hour and 30 days'
    case 'UnknownToken':
      return 'no asset is paid in this token, so a prepaid balance in it could pay nothing'
    case 'InsufficientBalance':
      return `the prepaid balance holds only ${args[0]}`
    case 'InvalidPermit':
      return 'the token did not take the permit (it has no EIP-2612 permit): approve and use depositFor'
    case 'SettlementModeMismatch':
      return Number(args[0]) === 2
        ? 'this asset is settled in prepaid mode; settle it with settlePrepaid (users’ vouchers) or register another asset for postpaid batches'
        : 'this asset is settled in postpaid mode; settle it with settle (batches) or register another asset for prepaid vouchers'
    case 'WithdrawalLocked':
      return `the withdrawal can be made from ${new Date(Number(args[0]) * 1000).toISOString()} (unix ${args[0]})`
    case 'InvalidProofWindow':
      return 'the proof window must be between 1 second and 365 days'
    case 'AssetFrozen':
      return 'the asset is frozen by a proven fraud: its issuer must restore the bond and call resume'
    case 'NotFrozen':
      return 'the asset is not frozen'
    case 'BondTooLow':
      return `the bond must be at least ${args[0]} first (postBond)`
    case 'BondLocked':
      return BigInt(args[0]) === 0n
        ? 'the bond cannot leave while a meter is authorised: revoke every meter first'
        : `the bond can be withdrawn from unix ${args[0]} (the proof window after the last meter revocation)`
    case 'InsufficientBond':
      return `the bond holds only ${args[0]}`
    case 'MeterNotAuthorised':
      return "the receipt's meter was never authorised for its asset"
    case 'ReceiptTooOld':
      return 'the receipt is older than the proof window'
    case 'AlreadyProven':
      return 'a fraud proof already paid for this receipt (asset, meter, user, seq)'
    case 'PriceTableNotCommitted':
      return "the receipt's price table was never committed for its asset"
    case 'PriceTableExists':
      return 'this price table root is already committed'
    case 'InvalidPriceTable':
      return 'a price table root cannot be zero'
    case 'InvalidReceiptSignature':
      return 'the receipt is not signed by its meter for this chain and contract (or was altered)'
    case 'InvalidAttestationSignature':
      return "the attestation is not signed by the receipt's user for this chain and contract"
    case 'AttestationMismatch':
      return 'the attestation is not the one the receipt answers (asset, request hash or digest differ)'
    case 'IdenticalReceipts':
      return 'the two receipts are the same receipt: no equivocation'
    case 'NotSameSeq':
      return 'the two receipts are not of the same asset, meter, user and seq'
    case 'InvalidPriceProof':
      return "the price entry is not a leaf of the receipt's price table"
    case 'ModelMismatch':
      return "the price entry's model is neither the receipt's model nor its snapshot base"
    case 'NotFraud':
      return 'the receipt is honest on this count: nothing to prove'
    case 'InvalidChallengeWindow':
      return 'the challenge window must be between the deployment’s minimum and 7 days'
    case 'EpochPending':
      return `the batch is in its challenge window: it can be released (and claimed) from ${new Date(Number(args[0]) * 1000).toISOString()} (unix ${args[0]}), after every earlier pending batch`
    case 'NotPending':
      return `epoch ${args[0]} has no pending batch (not settled yet, already released or vetoed)`
    case 'TooManyPending':
      return `15 batches are pending and the oldest is releasable only from unix ${args[0]}: settle less often or wait`
    case 'OwnableUnauthorizedAccount':
      return `only the contract owner may do this, not ${who(args[0])}`
    case 'OwnableInvalidOwner':
      return `${who(args[0])} cannot be the owner`
    case 'ReentrancyGuardReentrantCall':
      return 'a token called back into the contract during a transfer'
    case 'SafeERC20FailedOperation':
      return `the token ${who(args[0])} refused the transfer`
    case 'ERC20InsufficientBalance':
      return `${who(args[0])} holds ${args[1]} of ${args[2]} needed`
    case 'ERC20InsufficientAllowance':
      return `${who(args[0])} may spend ${args[1]} of ${args[2]} needed: approve the settlement contract`
    case 'ERC20InvalidSender':
      return `the token refuses to send from ${who(args[0])}`
    case 'ERC20InvalidReceiver':
      return `the token refuses to send to ${who(args[0])}`
    case 'ERC2612ExpiredSignature':
      return `the permit expired at unix ${args[0]}`
    case 'ERC2612InvalidSigner':
      return `the permit was signed by ${who(args[0])}, not by ${who(args[1])}`
    default:
      return `${name}(${[...args].join(', ')})`
  }
}

/** ethers nests revert data at different depths depending on where the call failed. */
function findRevertData(value: unknown, depth: number): string | null {
  if (depth > 5 || typeof value !== 'object' || value === null) return null
  const record = value as Record<string, unknown>
  const data = record.data
  if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) return data
  for (const key of ['error', 'info', 'cause']) {
    const found = findRevertData(record[key], depth + 1)
    if (found) return found
  }
  return null
}
