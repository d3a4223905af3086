import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { rmaSettlementAbi } from '@rma/contracts'
import { Interface } from 'ethers'
import type { AssetStatus } from './AssetStatus.js'
import { createRpcClient } from './createRpcClient.js'
import { type Derivation, deriveAudit } from './deriveAudit.js'
import { AuditError } from './errors.js'
import { explorerPage } from './explorerPage.js'
import type { FetchBatch } from './fetchBatchFile.js'
import { openSettlement } from './openSettlement.js'
import { readAccount } from './readAccount.js'
import { readAssetStatus } from './readAssetStatus.js'

export type CreateExplorerHandlerOptions = {
  rpcUrl: string
  contract: string
  /** Assets to show (default: every asset registered on the contract, from `AssetRegistered`). */
  assets?: readonly string[]
  fetchBatch?: FetchBatch
  /** When given, a node serving another chain is refused. */
  chainId?: number | bigint
  /** First block to read events from (default 0). */
  fromBlock?: number
  /** How long an asset's status and audit are reused before they are read again (default 10 s). */
  cacheMs?: number
  rpcTimeoutMs?: number
  batchTimeoutMs?: number
  maxBatchBytes?: number
}

const abi = new Interface(rmaSettlementAbi)

/**
 * A `node:http` handler serving the explorer: one self-contained page (inline SVG charts and
 * plain JS, no build step, no request leaves the page's origin) and the JSON it reads:
 *
 * | route | answer |
 * | --- | --- |
 * | `GET /` | the page |
 * | `GET /api/assets` | `{ chainId, contract, assets: [assetId] }` |
 * | `GET /api/assets/:assetId/status` | `AssetStatus` (as `readAssetStatus`, `rma status --json`) |
 * | `GET /api/assets/:assetId/audit` | `AuditReport` (as `auditAsset`, `rma audit --json`) |
 * | `GET /api/assets/:assetId/accounts/:address` | `AccountView`: a user's calls, spend, rebates, claimable; a supporter's stake and rewards |
 *
 * It reads only the chain and the batch files. Errors are JSON `{ error: { message, code } }`:
 * 400 for a malformed id or address, 404 for an asset it does not show, 502 when the chain or
 * a file cannot be read. Mount it under a prefix or serve it alone (`rma serve`).
 *
 * @example
 * createServer(createExplorerHandler({ rpcUrl, contract })).listen(8790)
 */
export function createExplorerHandler(
  options: CreateExplorerHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const cacheMs = options.cacheMs ?? 10_000
  const audits = new Map<string, { at: number; value: Promise<Derivation> }>()
  const statuses = new Map<string, { at: number; value: Promise<AssetStatus> }>()
  const chainOptions = (assetId: string) => ({
    rpcUrl: options.rpcUrl,
    contract: options.contract,
    assetId,
    chainId: options.chainId,
    fromBlock: options.fromBlock,
    rpcTimeoutMs: options.rpcTimeoutMs,
  })
  const derive = (assetId: string): Promise<Derivation> => {
    const cached = audits.get(assetId)
    if (cached && Date.now() - cached.at < cacheMs) return cached.value
    const value = deriveAudit({
      ...chainOptions(assetId),
      fetchBatch: options.fetchBatch,
      batchTimeoutMs: options.batchTimeoutMs,
      maxBatchBytes: options.maxBatchBytes,
    })
    audits.set(assetId, { at: Date.now(), value })
    value.catch(() => audits.delete(assetId))
    return value
  }

  // Page loads share one read per asset per `cacheMs` (requests in flight included).
  const readStatus = (assetId: string): Promise<AssetStatus> => {
    const cached = statuses.get(assetId)
    if (cached && Date.now() - cached.at < cacheMs) return cached.value
    const value = readAssetStatus(chainOptions(assetId))
    statuses.set(assetId, { at: Date.now(), value })
    value.catch(() => statuses.delete(assetId))
    return value
  }

  async function listAssets(): Promise<{ chainId: number; contract: string; assets: string[] }> {
    if (options.assets) {
      const first = options.assets[0]
      const chainId = first
        ? (await openSettlement(chainOptions(first))).chainId
        : Number(options.chainId ?? 0)
      return {
        chainId,
        contract: options.contract.toLowerCase(),
        assets: options.assets.map((a) => a.toLowerCase()),
      }
    }
    // Every registered asset of the contract, from its AssetRegistered events.
    const rpc = createRpcClient({ url: options.rpcUrl, timeoutMs: options.rpcTimeoutMs })
    const chainId = Number(BigInt(await rpc.request<string>('eth_chainId', [])))
    const logs = await rpc.request<{ topics: string[] }[]>('eth_getLogs', [
      {
        address: options.contract,
        fromBlock: `0x${(options.fromBlock ?? 0).toString(16)}`,
        toBlock: 'latest',
        topics: [abi.getEvent('AssetRegistered')!.topicHash],
      },
    ])
    return {
      chainId,
      contract: options.contract.toLowerCase(),
      assets: [...new Set(logs.map((l) => String(l.topics[1]).toLowerCase()))],
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://explorer.invalid')
    const path = url.pathname
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(
        res,
        405,
        error('Only GET is served: the explorer is read-only.', 'method_not_allowed'),
      )
    if (path === '/' || path === '/index.html') {
      const nonce = randomBytes(16).toString('base64')
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        // Nothing but this page's own inline code and its own origin's JSON: no external network.
        'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      })
      res.end(req.method === 'HEAD' ? undefined : explorerPage(nonce))
      return
    }
    if (path === '/api/assets') return sendJson(res, 200, await listAssets())
    const m = /^\/api\/assets\/([^/]+)\/(status|audit|accounts\/([^/]+))$/.exec(path)
    if (!m) return sendJson(res, 404, error(`Nothing is served at ${path}.`, 'not_found'))
    const assetId = decodeURIComponent(m[1]!).toLowerCase()
    if (!/^0x[0-9a-f]{64}$/.test(assetId))
      return sendJson(
        res,
        400,
        error(`"${assetId}" is not an asset id (0x and 64 hex digits).`, 'invalid_asset'),
      )
    if (options.assets && !options.assets.some((a) => a.toLowerCase() === assetId))
      return sendJson(
        res,
        404,
        error(`Asset ${assetId} is not shown by this explorer.`, 'not_found'),
      )
    if (m[2] === 'status') return sendJson(res, 200, await readStatus(assetId))
    if (m[2] === 'audit') return sendJson(res, 200, (await derive(assetId)).report)
    const address = decodeURIComponent(m[3]!)
    if (!/^0x[0-9a-fA-F]{40}$/.test(address))
      return sendJson(
        res,
        400,
        error(`"${address}" is not an address (0x and 40 hex digits).`, 'invalid_address'),
      )
    return sendJson(res, 200, readAccount(await derive(assetId), address))
  }

  return function rmaExplorer(req, res) {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy()
      if (e instanceof AuditError) {
        const status = e.code === 'UNKNOWN_ASSET' ? 404 : e.code === 'INVALID_OPTIONS' ? 400 : 502
        return sendJson(res, status, error(e.shortMessage, e.code.toLowerCase()))
      }
      sendJson(
        res,
        500,
        error('The explorer failed to answer; see the server log.', 'internal_error'),
      )
    })
  }
}

function error(message: string, code: string) {
  return { error: { message, code } }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  res.end(text)
}
