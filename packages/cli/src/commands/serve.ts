import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createExplorerHandler } from '@rma/audit'
import { CliError } from '../CliError.js'
import type { Command } from '../Command.js'
import { assetOptions } from '../chainOptions.js'
import { connectChain } from '../connectChain.js'
import { parseInteger } from '../readEnv.js'

export const serveCommand: Command = {
  name: 'serve',
  summary:
    "serve the explorer page: revenue, split, stake and yield, lookups by address, each epoch's audit",
  usage: 'serve [--port <n>] [--host <address>]',
  options: {
    ...assetOptions,
    asset: {
      ...assetOptions.asset,
      description: 'show this asset only (default: every asset of the contract)',
    },
    port: {
      type: 'string',
      env: 'RMA_EXPLORER_PORT',
      value: 'n',
      description: 'port to listen on (default 8790)',
    },
    host: {
      type: 'string',
      value: 'address',
      description: 'interface to listen on (default 127.0.0.1; 0.0.0.0 to face the network)',
    },
    'from-block': {
      type: 'string',
      env: 'RMA_FROM_BLOCK',
      value: 'n',
      description: 'read events from this block (the deployment block on long chains)',
    },
  },
  details: [
    "@rma/audit's createExplorerHandler: one self-contained page (no build step, nothing fetched",
    'from another origin) reading only the chain and the batch files. Runs until Ctrl-C; prints',
    'its URL (with --json: { "url": … }).',
  ].join('\n'),
  async run(context) {
    const o = context.options
    const port = parseInteger(o.port, '--port', 8790, 0)
    const host = (o.host as string | undefined) ?? '127.0.0.1'
    // Fail fast, in one line, on a wrong RPC, chain or contract (and asset, when one is named).
    const chain = o.asset
      ? await connectChain(context, { asset: true })
      : await connectChain(context, { contract: true })
    chain.provider.destroy()
    const handler = createExplorerHandler({
      rpcUrl: chain.rpcUrl,
      contract: chain.contractAddress,
      ...(o.asset ? { assets: [String(o.asset)] } : {}),
      ...(o['chain-id'] !== undefined ? { chainId: chain.chainId } : {}),
      fromBlock: parseInteger(o['from-block'], '--from-block', 0, 0),
      rpcTimeoutMs: context.timeoutMs,
      batchTimeoutMs: context.timeoutMs,
    })
    const server = createServer(handler)
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new CliError({
            code: 'CONFIG',
            shortMessage: `Cannot listen on ${host}:${port} (${error.code ?? error.message}): pick another --port or --host.`,
          }),
        ),
      )
      server.listen(port, host, resolve)
    })
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`
    context.print({ ok: true, url }, `explorer at ${url} (Ctrl-C stops it)`)
    await context.stopped
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    return 0
  },
}
