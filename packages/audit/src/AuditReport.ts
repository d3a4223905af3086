/**
 * What an audit can find. Each postpaid kind is produced by a settler or meter cheating in
 * `auditAsset.test.ts`; the prepaid ones in `prepaid.test.ts` (`overcharge` and a
 * `duplicate-receipt` across modes on chain; `voucher-signature` and `voucher-mismatch`, which
 * the contract itself prevents, on altered reads of real settlements).
 *
 * | kind | meaning |
 * | --- | --- |
 * | `revenue-mismatch` | an epoch's revenue on chain ≠ Σ its receipts' amounts |
 * | `rebate-mismatch` | the rebate root commits a rebate above or shifted from a user's pro-rata share |
 * | `bad-signature` | a settled receipt's signature does not recover to its meter |
 * | `broken-chain` | a receipt's `prev` is not the hash of the receipt before it in its chain |
 * | `duplicate-receipt` | one receipt settled twice (in one batch or two) |
 * | `chain-gap` | a chain skips a seq (or starts after seq 1) |
 * | `batch-hash-mismatch` | the batch file's bytes do not hash to the on-chain `batchHash` |
 * | `batch-missing` | the batch file cannot be fetched from its on-chain URI |
 * | `batch-invalid` | the file matches its hash but is not a batch file of this asset and epoch |
 * | `receipts-mismatch` | the file's receipts do not rebuild the on-chain `receiptsRoot` / `receiptCount` |
 * | `unauthorised-meter` | a receipt's meter was not authorised when it signed or when it was settled |
 * | `receipt-omitted` | (ledger) a receipt the user holds is in no batch though its chain settled past it |
 * | `equivocation` | two different receipts signed by one meter for the same chain and seq |
 * | `voucher-signature` | (prepaid) an applied voucher lacks its user's ReceiptAck signature |
 * | `voucher-mismatch` | (prepaid) a debit ≠ its chain's cumulative increase, a chain not raised, vouchers unreadable |
 * | `overcharge` | (prepaid, ledger) a voucher settled above what the user's own receipt of that seq says |
 */
export type DiscrepancyKind =
  | 'revenue-mismatch'
  | 'rebate-mismatch'
  | 'bad-signature'
  | 'broken-chain'
  | 'duplicate-receipt'
  | 'chain-gap'
  | 'batch-hash-mismatch'
  | 'batch-missing'
  | 'batch-invalid'
  | 'receipts-mismatch'
  | 'unauthorised-meter'
  | 'receipt-omitted'
  | 'equivocation'
  | 'voucher-signature'
  | 'voucher-mismatch'
  | 'overcharge'

/** One finding: its kind, the epoch it concerns, the accounts it touches (lowercase), and why. */
export type Discrepancy = {
  kind: DiscrepancyKind
  epoch?: number
  /**
   * The accounts whose money the finding touches: users and meters for receipt findings,
   * users whose rebate differs for rebate findings, the epoch's users for revenue findings,
   * and the settler that posted the batch when its file cannot be checked.
   */
  accounts: string[]
  detail: string
}

/**
 * - `ok`: (postpaid) the batch file was fetched, matched its hash and every payout re-derived equals
 *   what the chain committed;
 *   (prepaid) every applied voucher re-derived from the calldata matches the debits, the revenue
 *   and the rebates credited;
 * - `discrepancy`: at least one finding names this epoch;
 * - `unavailable`: its batch file could not be fetched, so nothing in it could be checked.
 */
export type EpochAuditStatus = 'ok' | 'discrepancy' | 'unavailable'

/** The result of `auditAsset`: `ok` only when every epoch is `ok` and nothing differs. */
export type AuditReport = {
  ok: boolean
  epochs: { epoch: number; status: EpochAuditStatus }[]
  discrepancies: Discrepancy[]
}
