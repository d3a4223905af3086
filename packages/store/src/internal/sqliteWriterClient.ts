import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import type { StoreError } from '../errors.js'
import type {
  SerializedError,
  WriterData,
  WriterReply,
  WriterRequest,
} from './sqliteWriterProtocol.js'
import { unavailableError, writerFailedError } from './storeErrors.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A request as the store builds it; the client numbers it. */
export type WriterCall = DistributiveOmit<Exclude<WriterRequest, { kind: 'close' }>, 'id'>

type Waiting = { onReply: (reply: WriterReply) => void; onFailure: (error: StoreError) => void }

/** The main thread's handle on the writer thread. */
export type SqliteWriter = {
  /**
   * Posts a request. `onReply` runs when its reply is handled (from the event loop or from
   * {@link SqliteWriter.poll}); `onFailure` if the writer stops first (or has stopped).
   */
  send(call: WriterCall, onReply: Waiting['onReply'], onFailure: Waiting['onFailure']): void
  /** `send` as a promise. */
  request(call: WriterCall): Promise<WriterReply>
  /** Handles, synchronously, every reply that has already arrived. */
  poll(): void
  /** The error the writer stopped with, if it did. */
  readonly failure: StoreError | undefined
  /** Lets the writer finish its queue, checkpoint and close; resolves once the thread exited. */
  close(): Promise<void>
  /** Stops the thread at once, as a crash would (for tests). */
  terminate(): Promise<void>
}

export type StartSqliteWriterOptions = {
  /** The writer thread's script (sqliteWriter.ts / .js / .cjs). */
  script: URL
  path: string
  synchronous: WriterData['synchronous']
  busyTimeoutMs: number
  nonceSweepIntervalMs: number
  /** Called once if the writer stops without being closed. */
  onFailure: (error: StoreError) => void
}

/**
 * A writer for a store that must not write (a read-only file): no thread; a request fails with
 * `refusal` (the store checks first, so none should arrive).
 */
export function refusingSqliteWriter(refusal: StoreError): SqliteWriter {
  const writer: SqliteWriter = {
    send: (_call, _onReply, onFailure) => onFailure(refusal),
    request: () => Promise.reject(refusal),
    poll: () => {},
    failure: undefined,
    close: async () => {},
    terminate: async () => {},
  }
  return writer
}

/**
 * Starts the writer thread. It keeps the process alive only while requests are pending, like
 * the synchronous writes it replaces.
 */
export function startSqliteWriter(options: StartSqliteWriterOptions): SqliteWriter {
  const { port1: port, port2 } = new MessageChannel()
  const data: WriterData = {
    path: options.path,
    synchronous: options.synchronous,
    busyTimeoutMs: options.busyTimeoutMs,
    nonceSweepIntervalMs: options.nonceSweepIntervalMs,
    port: port2,
  }
  const worker = new Worker(options.script, {
    workerData: data,
    transferList: [port2],
    name: '@rma/store sqlite writer',
  })
  const waiting = new Map<number, Waiting>()
  let nextId = 1
  let failure: StoreError | undefined
  let closing: Promise<void> | undefined
  let exited = false
  let resolveExit!: () => void
  const exit = new Promise<void>((resolve) => {
    resolveExit = resolve
  })

  function handle(reply: WriterReply): void {
    const entry = waiting.get(reply.id)
    if (!entry) return
    waiting.delete(reply.id)
    if (waiting.size === 0) keepAlive(false)
    entry.onReply(reply)
  }

  function keepAlive(on: boolean): void {
    if (exited) return
    if (on) {
      worker.ref()
      port.ref()
    } else {
      worker.unref()
      port.unref()
    }
  }

  function fail(cause: unknown): void {
    if (failure) return
    failure = writerFailedError(cause)
    // Replies sent before the thread stopped are commits that happened: handle them first.
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
      handle(m.message as WriterReply)
    const pending = [...waiting.values()]
    waiting.clear()
    for (const entry of pending) entry.onFailure(failure)
    options.onFailure(failure)
  }

  port.on('message', handle)
  keepAlive(false)
  worker.on('error', (error) => fail(error))
  worker.on('exit', (code) => {
    if (!closing || waiting.size > 0) fail(new Error(`The writer thread exited with code ${code}.`))
    exited = true
    port.close()
    resolveExit()
  })

  const writer: SqliteWriter = {
    send(call, onReply, onFailure) {
      if (failure) {
        onFailure(failure)
        return
      }
      const id = nextId++
      waiting.set(id, { onReply, onFailure })
      if (waiting.size === 1) keepAlive(true)
      port.postMessage({ ...call, id } as WriterRequest)
    },

    request(call) {
      return new Promise((resolve, reject) => writer.send(call, resolve, reject))
    },

    poll() {
      if (waiting.size === 0) return
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
        handle(m.message as WriterReply)
    },

    get failure() {
      return failure
    },

    close() {
      closing ??= (async () => {
        if (!exited && !failure) {
          keepAlive(true)
          port.postMessage({ id: nextId++, kind: 'close' } satisfies WriterRequest)
        }
        await exit
      })()
      return closing
    },

    async terminate() {
      await worker.terminate()
      await exit
    },
  }
  return writer
}

/**
 * The error as the writer threw it: driver errors keep their class (SqliteError), except those
 * that say the file cannot be written right now, which become `STORE_UNAVAILABLE`.
 */
export function deserializeError(error: SerializedError): Error {
  if (error.code === 'STORE_UNAVAILABLE') return unavailableError(`${error.message}.`)
  if (error.name === 'SqliteError' && error.code !== undefined) {
    const driver = new Database.SqliteError(error.message, error.code)
    const reason = unwritableReason(error.code)
    return reason ? unavailableError(reason, driver) : driver
  }
  const revived = new Error(error.message)
  revived.name = error.name
  return revived
}

/** Why a SQLite error code means the file cannot be written now, or undefined if it does not. */
function unwritableReason(code: string): string | undefined {
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'))
    return 'another connection held the write lock past the busy timeout.'
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_'))
    return 'the database file is read-only.'
  if (code === 'SQLITE_FULL') return 'the disk is full.'
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_IOERR'))
    return `the database file cannot be written (${code}).`
  return undefined
}
