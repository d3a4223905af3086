import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { HDNodeWallet, JsonRpcProvider, type TransactionResponse, Wallet } from 'ethers'

/**
 * The mnemonic of anvil's default dev accounts (public: never use these keys on a real chain).
 *
 * @example
 * HDNodeWallet.fromPhrase(anvilMnemonic) // account 0, 0xf39F…2266
 */
export const anvilMnemonic = 'test test test test test test test test test test test junk'

export type StartAnvilParameters = {
  /** Port on 127.0.0.1; by default anvil binds port 0 and the OS picks a free one. */
  port?: number
  /** Chain id (default 31337). */
  chainId?: number
  /** Number of funded accounts derived from {@link anvilMnemonic} (default 10). */
  accounts?: number
  /** Balance of every account in ether (default 10,000). */
  balance?: number
  /** Extra command-line arguments for anvil (for example `['--hardfork', 'cancun']`). */
  args?: readonly string[]
  /** How long to wait for anvil to answer JSON-RPC (default 15 s). */
  timeoutMs?: number
}

/** A running anvil node, mining a block for every transaction. */
export type Anvil = {
  url: string
  chainId: number
  /**
   * A provider tuned for a local node: no request batching, no caching, 10 ms polling, and
   * sent transactions resolve once mined, so `tx.wait()` never misses an automined block.
   */
  provider: JsonRpcProvider
  /** Funded wallets of the default mnemonic, connected to `provider`. */
  accounts: Wallet[]
  /** Takes an EVM snapshot; {@link Anvil.revert} goes back to it. */
  snapshot(): Promise<string>
  /** Reverts to a snapshot (which is used up: take a new one to revert again). */
  revert(id: string): Promise<void>
  /** Moves the chain's clock forward and mines a block, so the next block sees the new time. */
  increaseTime(seconds: number): Promise<void>
  /** Stops the node (the process is killed; idempotent). */
  stop(): Promise<void>
}

/**
 * Starts a local anvil node (the binary of the `@foundry-rs/anvil` npm package) on a free
 * 127.0.0.1 port and waits until it answers JSON-RPC.
 *
 * @example
 * const anvil = await startAnvil()
 * const [deployer, alice] = anvil.accounts
 * const { contract } = await deploySettlement(deployer)
 * await anvil.stop()
 */
export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<Anvil> {
  const {
    chainId = 31337,
    accounts: accountCount = 10,
    balance = 10_000,
    args = [],
    timeoutMs = 15_000,
  } = parameters
  const { url, stop } = await launch(
    [
      '--port',
      String(parameters.port ?? 0),
      '--chain-id',
      String(chainId),
      '--accounts',
      String(accountCount),
      '--balance',
      String(balance),
      ...args,
    ],
    timeoutMs,
  )

  const provider = new AnvilProvider(url, chainId)
  const root = HDNodeWallet.fromPhrase(anvilMnemonic, undefined, "m/44'/60'/0'/0")
  const accounts = Array.from(
    { length: accountCount },
    (_, i) => new Wallet(root.deriveChild(i).privateKey, provider),
  )
  return {
    url,
    chainId,
    provider,
    accounts,
    snapshot: () => provider.send('evm_snapshot', []) as Promise<string>,
    async revert(id) {
      const ok = (await provider.send('evm_revert', [id])) as boolean
      if (!ok) throw new Error(`anvil could not revert to snapshot ${id}.`)
    },
    async increaseTime(seconds) {
      await provider.send('evm_increaseTime', [seconds])
      await provider.send('evm_mine', [])
    },
    async stop() {
      provider.destroy()
      await stop()
    },
  }
}

/**
 * anvil answers `eth_sendRawTransaction` before its automine has mined the block. If ethers'
 * `tx.wait()` then finds no receipt, it waits for the *next* block, which automine never makes
 * when no other transaction comes: the wait hangs. Returning from `broadcastTransaction` only
 * once the receipt exists (a few ms at most) closes that race. Without automine it gives up
 * after a second and `wait()` works as usual.
 */
class AnvilProvider extends JsonRpcProvider {
  constructor(url: string, chainId: number) {
    super(url, chainId, {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
      pollingInterval: 10,
    })
  }

  override async broadcastTransaction(signedTx: string): Promise<TransactionResponse> {
    const tx = await super.broadcastTransaction(signedTx)
    const deadline = Date.now() + 1_000
    while (Date.now() < deadline) {
      if (await this.send('eth_getTransactionReceipt', [tx.hash])) break
      await delay(2)
    }
    return tx
  }
}

type Launched = { url: string; stop(): Promise<void> }

/**
 * Spawns anvil and resolves once it has bound its port (read from its `Listening on` line, so
 * with `--port 0` the OS picks a free port and no other process can race us for it) and
 * answers JSON-RPC there.
 */
async function launch(args: readonly string[], timeoutMs: number): Promise<Launched> {
  const child = spawn(
    anvilBinary(),
    ['--host', '127.0.0.1', '--mnemonic', anvilMnemonic, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const listening = new Promise<string>((resolve) => {
    const onData = (chunk: string) => {
      output = (output + chunk).slice(-8_000)
      const match = /Listening on (\S+:\d+)/.exec(output)
      if (!match) return
      // From here on anvil logs every request: keep draining the pipe, drop the text.
      child.stdout?.off('data', onData).resume()
      resolve(`http://${match[1]}`)
    }
    child.stdout?.setEncoding('utf8').on('data', onData)
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-8_000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Never leave a node behind when the test process exits without calling stop().
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  const stop = async () => {
    process.off('exit', kill)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  try {
    const url = await Promise.race([
      listening,
      exited.then(() => {
        throw new Error(`anvil exited (${child.exitCode ?? child.signalCode}): ${output.trim()}`)
      }),
      delay(timeoutMs).then(() => {
        throw new Error(`anvil did not start within ${timeoutMs} ms: ${output.trim()}`)
      }),
    ])
    await waitForRpc(url, Date.now() + timeoutMs)
    return { url, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The anvil executable of the platform package that `@foundry-rs/anvil` installs. */
function anvilBinary(): string {
  const require = createRequire(import.meta.url)
  const launcher = dirname(require.resolve('@foundry-rs/anvil/package.json'))
  const fromLauncher = createRequire(join(launcher, 'package.json'))
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}`
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  try {
    return fromLauncher.resolve(`${platformPackage}/bin/${exe}`)
  } catch (cause) {
    throw new Error(
      `No anvil binary for ${process.platform}-${process.arch}: install @foundry-rs/anvil (which installs ${platformPackage}).`,
      { cause },
    )
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

async function waitForRpc(url: string, deadline: number): Promise<void> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })
  for (;;) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      if (response.ok) return
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`anvil did not answer on ${url}.`, { cause: error })
    }
    await delay(25)
  }
}
