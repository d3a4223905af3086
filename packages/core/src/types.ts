/** A 0x-prefixed hex string. */
export type Hex = `0x${string}`
/** A 20-byte account address, 0x-prefixed (any case). */
export type Address = `0x${string}`

/** Where a receipt's token counts come from. */
export type UsageSource = 'reported' | 'estimated' | 'partial'

/** The EIP-712 domain of every RMA object: the settlement contract on one chain. */
export type RmaDomain = {
  readonly name: 'RMA'
  readonly version: '1'
  readonly chainId: bigint
  readonly verifyingContract: Address
}

/**
 * Token usage of one call, in OpenAI semantics: cached ⊆ input, cacheWrite ⊆ input (cached +
 * cacheWrite ≤ input), reasoning ⊆ output.
 */
export type Usage = {
  inputTokens: number
  /** Input tokens read from a prompt cache. */
  cachedInputTokens: number
  /**
   * Input tokens written to a prompt cache (Anthropic's `cache_creation_input_tokens`); 0 when
   * absent (OpenAI never reports them).
   */
  cacheWriteTokens?: number
  outputTokens: number
  reasoningTokens: number
}

/** Signed by the API user and sent with each call (`rma-attestation` header). */
export type RequestAttestation = {
  assetId: Hex
  user: Address
  /** keccak256 of the exact request body bytes. */
  requestHash: Hex
  nonce: bigint
  /** Unix seconds after which the meter rejects the attestation. */
  expiry: number
  /** Spend cap for this call, in payment-token base units. */
  maxAmount: bigint
}

/** Signed by the meter after each call. */
export type UsageReceipt = Usage & {
  /** Required in a receipt (0 when the call wrote no prompt cache). */
  cacheWriteTokens: number
  assetId: Hex
  /** The meter key that signs this receipt; chains are per (meter, user). */
  meter: Address
  user: Address
  /** 1 for a chain's first receipt, then +1 per receipt. */
  seq: number
  /** Hash of the chain's previous receipt; 32 zero bytes for seq 1. */
  prev: Hex
  requestHash: Hex
  /** keccak256 of the exact response body bytes delivered (the whole stream for SSE). */
  responseHash: Hex
  model: string
  usageSource: UsageSource
  /** Price of the call in payment-token base units. */
  amount: bigint
  /**
   * The running total of `amount` over the receipt's (asset, meter, user) chain, this receipt
   * included: the previous receipt's `cumulativeAmount` + `amount` (`amount` at seq 1). Acking
   * it makes it a voucher (see {@link ReceiptAck}).
   */
  cumulativeAmount: bigint
  /**
   * The Merkle root of the asset's committed price-table version this receipt was priced with
   * (see {@link createPriceTableTree}); 32 zero bytes when the meter prices without one.
   */
  priceTable: Hex
  /**
   * The EIP-712 digest (`hashAttestation(attestation, domain)`) of the user's request
   * attestation this receipt answers; 32 zero bytes when the call had none.
   */
  attestation: Hex
  /** Unix seconds. */
  timestamp: number
}

/**
 * The user's countersignature of a receipt; acking a chain head acks the whole chain. A signed
 * ack is a *voucher*: "I owe this asset's meter `cumulativeAmount` in total", which prepaid
 * settlement debits (by its increase since the last settled voucher).
 */
export type ReceiptAck = {
  assetId: Hex
  user: Address
  meter: Address
  seq: number
  receiptHash: Hex
  /** The acked receipt's `cumulativeAmount`. */
  cumulativeAmount: bigint
}

/** One settlement batch of an asset, as committed on chain. */
export type Batch = {
  assetId: Hex
  epoch: number
  revenue: bigint
  receiptCount: number
  receiptsRoot: Hex
  rebateRoot: Hex
  batchHash: Hex
  batchUri: string
}

/** A protocol object with its 65-byte signature (r ‖ s ‖ v). */
export type Signed<T> = T & { signature: Hex }
export type SignedUsageReceipt = Signed<UsageReceipt>
export type SignedRequestAttestation = Signed<RequestAttestation>
export type SignedReceiptAck = Signed<ReceiptAck>
