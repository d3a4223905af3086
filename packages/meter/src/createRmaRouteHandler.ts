import { type Address, BaseError, decodeAck, type Hex, verifyAck } from '@rma/core'
import { authorizeReceiptRead, isOperator } from './authorizeReceiptRead.js'
import { MeterError } from './errors.js'
import type { HeaderSource } from './HeaderSource.js'
import type { Meter } from './Meter.js'
import { receiptToJSON } from './receiptToJSON.js'
import { storeCall } from './storeCall.js'

/** What `/rma/proofs/:user` serves; the shape of @rma/settlement's `RebateProof`. */
export type RebateProofLike = {
  user: Address
  /** One entry per settled epoch with an unclaimed rebate: the arguments of `claimRebates`. */
  claims: { epoch: number; amount: bigint; proof: Hex[] }[]
  total: bigint
}

/** The options of the /rma routes, whatever serves them (`createRmaRoutes`, Express's `rmaRouter`). */
export type RmaRouteOptions = {
  /** The meter whose store, domain and metrics the routes serve. */
  meter: Pick<Meter, 'config' | 'metrics'>
  /**
   * Serves `GET /rma/proofs/:user`: a user's unclaimed rebate of every settled epoch, each with
   * its Merkle proof. Pass `proofFor` of @rma/settlement's `createRebateProver`.
   */
  proofs?: (user: Address) => Promise<RebateProofLike | undefined>
  /**
   * A bearer token for operators: `Authorization: Bearer <token>` lists any user's receipts
   * and reads `/rma/metrics`. Without it only users read, each its own receipts.
   */
  operatorToken?: string
  /**
   * Who reads `/rma/metrics` (revenue, traffic): `'operator'` with the operator token (default;
   * 404 without one), `'public'` anyone, `'off'` nobody.
   */
  metrics?: 'operator' | 'public' | 'off'
}

/** A request to one of the /rma routes, as any adapter sees it. */
export type RmaRouteRequest = {
  method: string
  /** The path below the routes' base path (`/receipts/abc`). */
  path: string
  query: { get(name: string): string | null | undefined }
  headers: HeaderSource
  /** What the meter's `identify` is called with: the adapter's own request. */
  request: unknown
  /** The body as JSON (`POST /rma/acks`); undefined when it is not JSON. Refusals are `MeterError`s. */
  json(): Promise<unknown>
}

/** An answer of the /rma routes: JSON, or text of a content type (the Prometheus metrics). */
export type RmaRouteAnswer =
  | { status: number; json: unknown }
  | { status: number; text: string; contentType: string }

/**
 * The meter's own routes, framework-free (`createRmaRoutes` serves them on web Requests,
 * Express's `rmaRouter` on its router):
 * - `GET /rma/receipts/:id`: one receipt (by call id or receipt hash);
 * - `GET /rma/receipts?user=0x…&from=&to=&limit=`: a user's receipts by time, for that user
 *   only (an `rma-attestation` it signed over `receiptListRequestHash`, or custodial
 *   `identify`) or the operator;
 * - `POST /rma/acks`: a ReceiptAck, as `{ "ack": "<encoded>" }` or the `rma-ack` header;
 * - `GET /rma/proofs/:user`: the user's unclaimed rebates with proofs (with the `proofs` option);
 * - `/rma/batches/…`: 404 (adapters serve batch files with their own handler, before these routes);
 * - `GET /rma/health`: the meter address and asset; 503 with `ok: false` when the store cannot
 *   write receipts (the meter then refuses paid calls);
 * - `GET /rma/metrics`: Prometheus metrics, for the operator (see the `metrics` option).
 *
 * Resolves undefined for any other route; refusals reject with a `MeterError`, which adapters
 * answer in OpenAI's JSON error shape, never as an HTML page or a stack trace.
 *
 * @example
 * const handle = createRmaRouteHandler({ meter })
 * const answer = await handle({ method: 'GET', path: '/health', query, headers, request, json })
 */
export function createRmaRouteHandler(
  options: RmaRouteOptions,
): (request: RmaRouteRequest) => Promise<RmaRouteAnswer | undefined> {
  const { meter } = options
  const { store, domain } = meter.config

  const receipt = async (id: string): Promise<RmaRouteAnswer> => {
    const stored = /^0x[0-9a-fA-F]{64}$/.test(id)
      ? await store.getByHash(id as Hex)
      : await store.get(id)
    if (!stored) throw notFound(`No receipt ${id}.`)
    return { status: 200, json: receiptToJSON(stored) }
  }

  const receipts = async (req: RmaRouteRequest): Promise<RmaRouteAnswer> => {
    const user = req.query.get('user') ?? ''
    if (!/^0x[0-9a-fA-F]{40}$/.test(user))
      throw badRequest('rma_invalid_query', 'Query parameter `user` must be an address.')
    await authorizeReceiptRead({
      req: req.headers,
      request: req.request,
      config: meter.config,
      user: user as Address,
      operatorToken: options.operatorToken,
    })
    const number = (name: string) => {
      const value = req.query.get(name)
      if (value === undefined || value === null) return undefined
      const parsed = Number(value)
      if (!Number.isSafeInteger(parsed) || parsed < 0)
        throw badRequest(
          'rma_invalid_query',
          `Query parameter \`${name}\` must be a non-negative integer.`,
        )
      return parsed
    }
    const limit = Math.min(number('limit') ?? 100, 1000)
    const list = await storeCall(() =>
      store.listByUser({ user: user as Hex, from: number('from'), to: number('to'), limit }),
    )
    return { status: 200, json: { object: 'list', data: list.map(receiptToJSON) } }
  }

  const acks = async (req: RmaRouteRequest): Promise<RmaRouteAnswer> => {
    const encoded =
      ((await req.json()) as { ack?: unknown } | undefined)?.ack ??
      req.headers.get('rma-ack') ??
      undefined
    let ack: ReturnType<typeof decodeAck>
    try {
      ack = decodeAck(encoded)
    } catch (error) {
      throw badRequest(
        'rma_ack_malformed',
        `Malformed ack: ${error instanceof BaseError ? error.shortMessage : 'unreadable'}`,
      )
    }
    if (!verifyAck({ ack, domain }))
      throw new MeterError({
        status: 401,
        type: 'authentication_error',
        code: 'rma_ack_invalid',
        message: 'The ack signature does not match its user.',
      })
    // The store refuses an ack naming no stored receipt of its chain (404 here).
    await storeCall(() => store.addAck(ack))
    return {
      status: 201,
      json: { object: 'rma.ack', meter: ack.meter, user: ack.user, seq: ack.seq },
    }
  }

  const proofs = async (user: string): Promise<RmaRouteAnswer> => {
    if (!options.proofs) throw notFound('This server does not serve rebate proofs.')
    if (!/^0x[0-9a-fA-F]{40}$/.test(user))
      throw badRequest('rma_invalid_query', 'The user must be an address.')
    let proof: RebateProofLike | undefined
    try {
      proof = await options.proofs(user as Address)
    } catch (error) {
      // A missing batch file or proof index, or an unreachable chain: the caller gets JSON
      // saying proofs are unavailable for now, never a stack trace.
      throw new MeterError({
        status: 503,
        type: 'server_error',
        code: 'rma_proofs_unavailable',
        message: `Rebate proofs are unavailable right now: ${
          error instanceof BaseError ? error.shortMessage : 'the proof source failed.'
        }`,
        cause: error,
      })
    }
    if (!proof) throw notFound(`No unclaimed rebate for ${user}.`)
    return {
      status: 200,
      json: {
        object: 'rma.rebate_proof',
        user: proof.user,
        total: proof.total.toString(),
        claims: proof.claims.map((c) => ({
          epoch: c.epoch,
          amount: c.amount.toString(),
          proof: c.proof,
        })),
      },
    }
  }

  const health = async (): Promise<RmaRouteAnswer> => {
    const { address } = await meter.config.signer()
    const identity = {
      meter: address,
      assetId: meter.config.assetId,
      chainId: domain.chainId.toString(),
    }
    // Healthy means able to serve a paid call: the store must be able to write a receipt now.
    try {
      await store.checkWritable()
    } catch (error) {
      return {
        status: 503,
        json: {
          ok: false,
          ...identity,
          error: {
            // The code, not the message: a message may name files or hosts.
            message: `The store cannot write receipts (${error instanceof BaseError ? error.code : 'unavailable'}).`,
            type: 'server_error',
            code: 'rma_store_unavailable',
            param: null,
          },
        },
      }
    }
    const batch = await store.latestBatch(meter.config.assetId)
    return { status: 200, json: { ok: true, ...identity, lastEpoch: batch?.epoch ?? 0 } }
  }

  const metrics = async (req: RmaRouteRequest): Promise<RmaRouteAnswer> => {
    const access = options.metrics ?? 'operator'
    const allowed =
      access === 'public' ||
      (access === 'operator' &&
        options.operatorToken !== undefined &&
        isOperator(req.headers, options.operatorToken))
    if (!allowed) {
      if (access === 'operator' && options.operatorToken !== undefined)
        throw new MeterError({
          status: 401,
          type: 'authentication_error',
          code: 'rma_operator_only',
          message: 'Metrics are for the operator: send Authorization: Bearer <operatorToken>.',
        })
      throw notFound('This server does not serve metrics.')
    }
    return {
      status: 200,
      text: await meter.metrics.registry.metrics(),
      contentType: meter.metrics.registry.contentType,
    }
  }

  return async (req) => {
    // Routes match as Express's did: case-insensitive, an optional trailing slash, HEAD as GET.
    const segments = req.path.replace(/\/+$/, '').split('/').slice(1)
    const [first, second, ...rest] = segments
    if (first?.toLowerCase() === 'batches')
      throw notFound('This server does not serve batch files.')
    if (rest.length > 0 || first === undefined) return undefined
    const name = first.toLowerCase()
    const get = req.method === 'GET' || req.method === 'HEAD'
    let param: string | undefined
    try {
      param = second === undefined ? undefined : decodeURIComponent(second)
    } catch {
      throw badRequest('rma_invalid_query', 'The path is not valid percent-encoding.')
    }
    if (get && name === 'receipts')
      return param === undefined ? receipts(req) : param === '' ? undefined : receipt(param)
    if (req.method === 'POST' && name === 'acks' && param === undefined) return acks(req)
    if (get && name === 'proofs' && param) return proofs(param)
    if (get && name === 'health' && param === undefined) return health()
    if (get && name === 'metrics' && param === undefined) return metrics(req)
    return undefined
  }
}

function notFound(message: string): MeterError {
  return new MeterError({
    status: 404,
    type: 'invalid_request_error',
    code: 'rma_not_found',
    message,
  })
}

function badRequest(code: string, message: string): MeterError {
  return new MeterError({ status: 400, type: 'invalid_request_error', code, message })
}
