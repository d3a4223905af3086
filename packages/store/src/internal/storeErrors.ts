import type { ChainHead } from '@rma/core'
import {
  AckUnknownReceiptError,
  ChainResetError,
  DuplicateReceiptIdError,
  InvalidReceiptError,
  ReceiptConflictError,
  SchemaTooNewError,
  StoreClosedError,
  StoreUnavailableError,
  UnknownReceiptError,
  WriterFailedError,
} from '../errors.js'

// One constructor per failure, shared by the adapters so that every store words an error alike.

export function duplicateIdError(id: string): DuplicateReceiptIdError {
  return new DuplicateReceiptIdError({
    shortMessage: `Receipt id "${id}" is already taken.`,
    details: 'Give every call its own id (for example a random UUID).',
  })
}

export function seqTakenError(
  chain: { assetId: string; meter: string; user: string },
  seq: number,
): ReceiptConflictError {
  return new ReceiptConflictError({
    shortMessage: `Chain ${chain.assetId}/${chain.meter}/${chain.user} already has a receipt with seq ${seq}.`,
    details:
      'Another writer appends to this chain: give each meter process its own key, or share one PostgreSQL store.',
  })
}

export function hashTakenError(hash: string): ReceiptConflictError {
  return new ReceiptConflictError({ shortMessage: `Receipt ${hash} is already stored.` })
}

export function invalidReceiptError(
  head: ChainHead,
  expected: { assetId: string; meter: string; user: string },
  received: {
    assetId?: unknown
    meter: unknown
    user: unknown
    seq: unknown
    prev: unknown
    amount?: unknown
    cumulativeAmount?: unknown
  },
): InvalidReceiptError {
  return new InvalidReceiptError({
    shortMessage: `Signed receipt does not extend the chain head (seq ${head.seq}).`,
    details:
      `Expected asset ${expected.assetId}, meter ${expected.meter}, user ${expected.user}, seq ${head.seq + 1}, prev ${head.hash}, cumulativeAmount ${head.cumulativeAmount} + amount; ` +
      `received asset ${String(received.assetId)}, meter ${String(received.meter)}, user ${String(received.user)}, seq ${String(received.seq)}, prev ${String(received.prev)}, amount ${String(received.amount)}, cumulativeAmount ${String(received.cumulativeAmount)}.`,
  })
}

export function invalidHashError(hash: unknown): InvalidReceiptError {
  return new InvalidReceiptError({
    shortMessage: 'Signed receipt hash is not 32 bytes of hex.',
    details: `Return the receipt's EIP-712 hash (hashReceipt) from sign; received ${String(hash)}.`,
  })
}

export function chainResetError(id: string): ChainResetError {
  return new ChainResetError({
    shortMessage: `Receipt "${id}" was dropped: an earlier receipt of its chain failed to store.`,
    details: 'Retry the call; the chain continues from its last stored receipt.',
  })
}

export function closedError(): StoreClosedError {
  return new StoreClosedError({ shortMessage: 'The receipt store is closed.' })
}

export function writerFailedError(cause: unknown): WriterFailedError {
  return new WriterFailedError({
    shortMessage: 'The SQLite writer thread stopped.',
    details:
      'Writes that were waiting for it may or may not have been stored, and the store accepts no more writes: close it and open a new one.',
    cause,
  })
}

export function schemaTooNewError(found: number, supported: number): SchemaTooNewError {
  return new SchemaTooNewError({
    shortMessage: `Database schema version ${found} is newer than this @rma/store supports (${supported}).`,
    details: 'Upgrade @rma/store, or point the store at another database.',
  })
}

export function unknownReceiptError(
  hash: string,
  assetId: string,
  epoch: number,
): UnknownReceiptError {
  return new UnknownReceiptError({
    shortMessage: `Receipt ${hash} is not a receipt of asset ${assetId}.`,
    details: `Nothing was marked settled in epoch ${epoch}.`,
  })
}

export function settledElsewhereError(
  hash: string,
  other: number,
  epoch: number,
): ReceiptConflictError {
  return new ReceiptConflictError({
    shortMessage: `Receipt ${hash} is already settled in epoch ${other}.`,
    details: `Nothing was marked settled in epoch ${epoch}.`,
  })
}

export function ackUnknownReceiptError(ack: {
  assetId: string
  meter: string
  user: string
  seq: number
  receiptHash: string
  cumulativeAmount: bigint
}): AckUnknownReceiptError {
  return new AckUnknownReceiptError({
    shortMessage: `The ack names no stored receipt (seq ${ack.seq} of chain ${ack.assetId.toLowerCase()}/${ack.meter.toLowerCase()}/${ack.user.toLowerCase()}).`,
    details: `No stored receipt has hash ${ack.receiptHash.toLowerCase()} with that asset, meter, user, seq and cumulativeAmount ${ack.cumulativeAmount}; nothing was stored.`,
  })
}

export function unavailableError(reason: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError({
    shortMessage: `The receipt store cannot write: ${reason}`,
    details: 'Paid calls must not be served until it can (nothing is delivered without a receipt).',
    cause,
  })
}

export function unknownOutcomeError(cause: unknown): StoreUnavailableError {
  return new StoreUnavailableError({
    shortMessage:
      'The receipt store cannot write: the connection failed during the commit and the receipt could not be read back.',
    details:
      'The receipt may or may not be stored; do not deliver the response. It is found by its id once the database is reachable.',
    cause,
  })
}
