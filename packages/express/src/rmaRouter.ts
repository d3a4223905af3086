import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Address, BaseError, decodeAck, type Hex, verifyAck } from '@rma/core'
import { authorizeReceiptRead, isOperator, MeterError, receiptToJSON, storeCall } from '@rma/meter'
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import type { RmaMeter } from './rmaMeter.js'
import { sendError } from './sendError.js'

export type RmaRouterOptions = {
  /** The meter whose store, domain and metrics the routes serve. */
  meter: RmaMeter
  /** Mount path of the routes (default `/rma`). */
  basePath?: string
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
  /**
   * Serves `GET /rma/batches/<assetId>/<batchHash>.json` (and `.proofs.json`): the settler's
   * batch files and proof indexes, for auditors and users. Pass @rma/settlement's
   * `createBatchFileHandler({ batchDir })` (immutable caching, ETag = content hash); the
   * settlement client's `publicUrl` option then puts `<publicUrl>/rma/batches/…` on chain.
   */
  batches?: (req: IncomingMessage, res: ServerResponse) => unknown
}

/** What `/rma/proofs/:user` serves; the shape of @rma/settlement's `RebateProof`. */
export type RebateProofLike = {
  user: Address
  /** One entry per settled epoch with an unclaimed rebate: the arguments of `claimRebates`. */
  claims: { epoch: number; amount: bigint; proof: Hex[] }[]
  total: bigint
}

/**
 * The meter's own routes:
 * - `GET /rma/receipts/:id`: one receipt (by call id or receipt hash);
 * - `GET /rma/receipts?user=0x…&from=&to=&limit=`: a user's receipts by time, for that user
 *   only (an `rma-attestation` it signed over `receiptListRequestHash`, or custodial
 *   `identify`) or the operator;
 * - `POST /rma/acks`: a ReceiptAck, as `{ "ack": "<encoded>" }` or the `rma-ack` header;
 * - `GET /rma/proofs/:user`: the user's unclaimed rebates with proofs (with the `proofs` option);
 * - `GET /rma/batches/<assetId>/<batchHash>.json`: batch files and proof indexes (with the
 *   `batches` option);
 * - `GET /rma/health`: the meter address and asset; 503 with `ok: false` when the store cannot
 *   write receipts (the meter then refuses paid calls);
 * - `GET /rma/metrics`: Prometheus metrics, for the operator (see the `metrics` option).
 *
 * Every error, including a malformed body and a failing store, is answered in OpenAI's JSON
 * error shape, never as an HTML page or a stack trace.
 *
 * @example
 * app.use(rmaRouter({ meter }))
 */
export function rmaRouter(options: RmaRouterOptions): Router {
  const { meter } = options
  const { store, domain } = meter.config
  const base = options.basePath ?? '/rma'
  // Every route sits under one mount layer, so the app's other requests (the metered calls)
  // pass this router after one prefix test instead of one path match per route.
  const outer = express.Router()
  const router = express.Router()
  outer.use(base, router)
  const route =
    (handler: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) =>
      handler(req, res).catch((error: unknown) =>
        error instanceof MeterError ? sendError(res, error) : next(error),
      )

  router.get(
    '/receipts/:id',
    route(async (req, res) => {
      const id = String(req.params.id)
      const stored = /^0x[0-9a-fA-F]{64}$/.test(id)
        ? await store.getByHash(id as Hex)
        : await store.get(id)
      if (!stored) throw notFound(`No receipt ${id}.`)
      res.json(receiptToJSON(stored))
    }),
  )

  router.get(
    '/receipts',
    route(async (req, res) => {
      const user = String(req.query.user ?? '')
      if (!/^0x[0-9a-fA-F]{40}$/.test(user))
        throw badRequest('rma_invalid_query', 'Query parameter `user` must be an address.')
      await authorizeReceiptRead({
        req,
        config: meter.config,
        user: user as Address,
        operatorToken: options.operatorToken,
      })
      const number = (name: string) => {
        const value = req.query[name]
        if (value === undefined) return undefined
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
        store.listByUser({
          user: user as Hex,
          from: number('from'),
          to: number('to'),
          limit,
        }),
      )
      res.json({ object: 'list', data: list.map(receiptToJSON) })
    }),
  )

  router.post(
    '/acks',
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const encoded = (req.body as { ack?: unknown } | undefined)?.ack ?? req.get('rma-ack')
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
      res.status(201).json({ object: 'rma.ack', meter: ack.meter, user: ack.user, seq: ack.seq })
    }),
  )

  router.get(
    '/proofs/:user',
    route(async (req, res) => {
      const user = String(req.params.user)
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
      res.json({
        object: 'rma.rebate_proof',
        user: proof.user,
        total: proof.total.toString(),
        claims: proof.claims.map((c) => ({
          epoch: c.epoch,
          amount: c.amount.toString(),
          proof: c.proof,
        })),
      })
    }),
  )

  // Mounted with `use`: the handler sees the path below /rma/batches and answers every method
  // itself (405 for anything but GET and HEAD).
  router.use('/batches', (req: Request, res: Response, next: NextFunction) => {
    if (!options.batches) return sendError(res, notFound('This server does not serve batch files.'))
    Promise.resolve(options.batches(req, res)).catch(next)
  })

  router.get(
    '/health',
    route(async (_req, res) => {
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
        res.status(503).json({
          ok: false,
          ...identity,
          error: {
            // The code, not the message: a message may name files or hosts.
            message: `The store cannot write receipts (${error instanceof BaseError ? error.code : 'unavailable'}).`,
            type: 'server_error',
            code: 'rma_store_unavailable',
            param: null,
          },
        })
        return
      }
      const batch = await store.latestBatch(meter.config.assetId)
      res.json({ ok: true, ...identity, lastEpoch: batch?.epoch ?? 0 })
    }),
  )

  router.get(
    '/metrics',
    route(async (req, res) => {
      const access = options.metrics ?? 'operator'
      const allowed =
        access === 'public' ||
        (access === 'operator' &&
          options.operatorToken !== undefined &&
          isOperator(req, options.operatorToken))
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
      res.type(meter.metrics.registry.contentType).send(await meter.metrics.registry.metrics())
    }),
  )

  // Errors of these routes (a malformed or oversized body, a failing store) become OpenAI's
  // JSON error shape: Express's default handler would send an HTML page with a stack trace.
  outer.use(base, (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) next(error)
    else sendError(res, asMeterError(error))
  })

  return outer
}

/** A body parser's error as the client's mistake; anything else stays an opaque 500. */
function asMeterError(error: unknown): unknown {
  if (error instanceof MeterError) return error
  const parsed = error as { type?: unknown; status?: unknown } | undefined
  if (parsed?.type === 'entity.too.large')
    return new MeterError({
      status: 413,
      type: 'invalid_request_error',
      code: 'rma_body_too_large',
      message: 'The request body is too large.',
    })
  if (typeof parsed?.status === 'number' && parsed.status >= 400 && parsed.status < 500)
    return badRequest('rma_invalid_json', 'The request body must be valid JSON.')
  return error
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
