import { fetchBatchFile } from '@rma/audit'
import { getSettlementContract, rmaSettlementAbi } from '@rma/contracts'
import { createDomain, type Hex, hashBytes } from '@rma/core'
import { parseBatchFile } from '@rma/settlement'
import type { EventLog } from 'ethers'
import { CliError } from './CliError.js'
import type { CommandContext } from './Command.js'
import { callRpc } from './callRpc.js'
import { createProvider } from './connectChain.js'
import type { DoctorCheck, DoctorReport } from './DoctorCheck.js'
import { erc20 } from './erc20.js'
import { fetchJson } from './fetchJson.js'
import { loadKey } from './loadKey.js'
import { providerUrlOf } from './providerUrlOf.js'
import { parseInteger } from './readEnv.js'
import { readUnsettledRevenue } from './readUnsettledRevenue.js'
import { redactUrl } from './redactUrl.js'
import { readSettlementMode } from './settlementMode.js'

/** The chain id the provider and the client sign for when RMA_CHAIN_ID is not set. */
const defaultChainId = 31337n

/**
 * Checks a deployment end to end, in the order a broken setting shows up, and says what to
 * change for each failure: configuration, chain reachable and its id, contract code, asset
 * registered, meter authorised, settler key, settler funded and approved (or deposit), stake
 * active, price table (not applicable: the contract has none), every recent batch file
 * reachable and matching its on-chain hash, and the provider's `/rma/health`. A check that
 * depends on a failed one is skipped, never guessed.
 *
 * @example
 * const { ok, checks } = await diagnoseDeployment(context)
 */
export async function diagnoseDeployment(context: CommandContext): Promise<DoctorReport> {
  const checks: DoctorCheck[] = []
  const add = (check: DoctorCheck) => {
    checks.push(check)
    return check.status !== 'fail'
  }
  const done = () => ({ ok: checks.every((c) => c.status !== 'fail'), checks })
  const { options, env, timeoutMs } = context
  const mode = readSettlementMode(options)

  // Configuration.
  const rpcUrl = options.rpc as string | undefined
  const contractAddress = options.contract as string | undefined
  const assetId = options.asset as string | undefined
  const missing = [
    !rpcUrl || !/^https?:\/\//i.test(rpcUrl) ? 'RMA_RPC_URL (an http(s) JSON-RPC URL)' : undefined,
    !contractAddress || !/^0x[0-9a-fA-F]{40}$/.test(contractAddress)
      ? 'RMA_SETTLEMENT_CONTRACT (an address)'
      : undefined,
    !assetId || !/^0x[0-9a-fA-F]{64}$/.test(assetId) ? 'RMA_ASSET_ID (a bytes32)' : undefined,
  ].filter((m) => m !== undefined)
  if (
    !add(
      missing.length > 0
        ? {
            name: 'configuration',
            status: 'fail',
            detail: `missing or malformed: ${missing.join(', ')}`,
            fix: 'set them (or pass --rpc, --contract, --asset); `rma deploy` and `rma asset register` print them',
          }
        : { name: 'configuration', status: 'pass', detail: 'RPC URL, contract and asset are set' },
    )
  )
    return done()

  // The chain.
  let chainId: bigint
  try {
    chainId = BigInt(await callRpc(rpcUrl!, 'eth_chainId', [], timeoutMs))
    add({
      name: 'chain reachable',
      status: 'pass',
      detail: `${redactUrl(rpcUrl!)} answered within ${timeoutMs / 1000} s`,
    })
  } catch (error) {
    add({
      name: 'chain reachable',
      status: 'fail',
      detail: error instanceof CliError ? error.shortMessage : String(error),
    })
    return done()
  }
  const configured = options['chain-id'] as string | undefined
  const expected = configured && /^\d+$/.test(configured) ? BigInt(configured) : defaultChainId
  add(
    expected === chainId
      ? {
          name: 'chain id',
          status: 'pass',
          detail: `chain ${chainId}${configured ? '' : ' (RMA_CHAIN_ID unset: the default 31337 of the provider and client)'}`,
        }
      : {
          name: 'chain id',
          status: 'fail',
          detail: `the RPC serves chain ${chainId} but ${configured ? `RMA_CHAIN_ID is ${configured}` : 'RMA_CHAIN_ID is unset, so the provider and client sign for 31337'}: receipts would be signed for the wrong chain`,
          fix: `set RMA_CHAIN_ID=${chainId}, or point RMA_RPC_URL at chain ${expected}`,
        },
  )
  const provider = createProvider(rpcUrl!, chainId, timeoutMs)
  try {
    const code = await provider.getCode(contractAddress!)
    if (
      !add(
        code === '0x'
          ? {
              name: 'contract code',
              status: 'fail',
              detail: `no contract at ${contractAddress} on chain ${chainId}`,
              fix: 'set RMA_SETTLEMENT_CONTRACT to the deployed address (and RMA_RPC_URL to its chain), or deploy one: rma deploy',
            }
          : {
              name: 'contract code',
              status: 'pass',
              detail: `${contractAddress}: ${(code.length - 2) / 2} bytes`,
            },
      )
    )
      return done()
    const contract = getSettlementContract(contractAddress!, provider)
    let asset: Awaited<ReturnType<typeof contract.getAsset>>
    try {
      asset = await contract.getAsset(assetId!)
    } catch {
      add({
        name: 'asset registered',
        status: 'fail',
        detail: `the contract at ${contractAddress} does not answer getAsset: it is not an RMASettlement`,
        fix: 'set RMA_SETTLEMENT_CONTRACT to the RMASettlement address',
      })
      return done()
    }
    if (
      !add(
        /^0x0{40}$/i.test(String(asset.issuer))
          ? {
              name: 'asset registered',
              status: 'fail',
              detail: `asset ${assetId} is not registered on ${contractAddress}`,
              fix: "set RMA_ASSET_ID to the id `rma asset register` printed, or register it: rma asset register --salt … (with the issuer's key)",
            }
          : {
              name: 'asset registered',
              status: 'pass',
              detail: `issuer ${asset.issuer}, shares ${asset.issuerBps}/${asset.supportersBps}/${asset.usersBps}/${asset.protocolBps} bps, epoch ${asset.epoch}`,
            },
      )
    )
      return done()

    // The provider's health first: it names the meter key the provider signs with.
    const providerUrl = providerUrlOf(options, env)
    let healthMeter: string | undefined
    if (!providerUrl)
      add({
        name: 'provider health',
        status: 'skip',
        detail: "RMA_PROVIDER_URL is not set: set it to the provider's URL to check /rma/health",
      })
    else {
      const url = `${providerUrl}/rma/health`
      try {
        const health = await fetchJson<{
          ok?: boolean
          meter?: string
          assetId?: string
          chainId?: string
          error?: { message?: string }
        }>(url, timeoutMs, { acceptStatus: [503] })
        healthMeter = health.meter
        const problems = [
          health.ok !== true
            ? `it is not healthy (${health.error?.message ?? 'ok is not true'}); fix the provider's receipt store`
            : undefined,
          String(health.assetId ?? '').toLowerCase() !== assetId!.toLowerCase()
            ? `it meters asset ${health.assetId}, not ${assetId}; set the provider's RMA_ASSET_ID`
            : undefined,
          String(health.chainId ?? '') !== chainId.toString()
            ? `it signs for chain ${health.chainId}, not ${chainId}; set the provider's RMA_CHAIN_ID=${chainId}`
            : undefined,
        ].filter((p) => p !== undefined)
        add(
          problems.length > 0
            ? {
                name: 'provider health',
                status: 'fail',
                detail: `${url}: ${problems.join('; ')}`,
              }
            : {
                name: 'provider health',
                status: 'pass',
                detail: `${url}: ok, meter ${health.meter}`,
              },
        )
      } catch (error) {
        add({
          name: 'provider health',
          status: 'fail',
          detail: error instanceof CliError ? error.shortMessage : String(error),
        })
      }
    }

    // The meter.
    const meterKey = await loadKey(env, 'RMA_METER', {
      role: 'the meter key',
      cwd: context.cwd,
      required: false,
    }).catch((error: unknown) => {
      add({ name: 'meter authorised', status: 'fail', detail: (error as CliError).shortMessage })
      return null
    })
    if (meterKey !== null) {
      const meters = [
        ...new Set(
          [meterKey?.address, healthMeter]
            .filter((m): m is string => !!m)
            .map((m) => m.toLowerCase()),
        ),
      ]
      if (meters.length === 0)
        add({
          name: 'meter authorised',
          status: 'skip',
          detail: 'no meter to check: set RMA_METER_PRIVATE_KEY (or _KEYSTORE) or RMA_PROVIDER_URL',
        })
      for (const meter of meters)
        add(
          (await contract.isMeter(assetId!, meter))
            ? {
                name: 'meter authorised',
                status: 'pass',
                detail: `${meter} may sign receipts for the asset`,
              }
            : {
                name: 'meter authorised',
                status: 'fail',
                detail: `${meter}${meter === healthMeter?.toLowerCase() ? " (the provider's meter)" : ''} is not a meter of the asset: its receipts cannot be settled`,
                fix: `rma asset set-meter ${meter} (with the issuer's key), or give the provider an authorised meter key`,
              },
        )
    }

    // The settler.
    const settler = String(asset.settler)
    const settlerKey = await loadKey(env, 'RMA_SETTLER', {
      role: 'the settler key',
      cwd: context.cwd,
      required: false,
    }).catch((error: unknown) => {
      add({ name: 'settler key', status: 'fail', detail: (error as CliError).shortMessage })
      return null
    })
    if (settlerKey)
      add(
        settlerKey.address.toLowerCase() === settler.toLowerCase()
          ? {
              name: 'settler key',
              status: 'pass',
              detail: `RMA_SETTLER_* is the asset's settler ${settler}`,
            }
          : {
              name: 'settler key',
              status: 'fail',
              detail: `RMA_SETTLER_* is ${settlerKey.address}, but the asset's settler is ${settler}: every settle would be refused`,
              fix: `use the settler's key, or rma asset set-settler ${settlerKey.address} (with the issuer's key)`,
            },
      )
    if (mode === 'prepaid') {
      // Users' prepaid balances pay each settlement: the settler needs only gas.
      if ((await provider.getBalance(settler)) === 0n)
        add({
          name: 'settler gas',
          status: 'fail',
          detail: `the settler ${settler} holds none of the chain's native coin: it cannot send a settle`,
          fix: `send ${settler} some of the native coin for gas`,
        })
      add({
        name: 'settler funded',
        status: 'n/a',
        detail:
          "prepaid mode (RMA_SETTLEMENT_MODE): users' prepaid balances pay each settlement; the settler needs no payment token, deposit or approval, only gas",
      })
    } else {
      const token = erc20(String(asset.token), provider)
      const [balance, allowance, deposit, gas] = await Promise.all([
        token.balanceOf(settler),
        token.allowance(settler, contractAddress!),
        contract.depositOf(assetId!, settler),
        provider.getBalance(settler),
      ])
      const unsettled = await readUnsettledRevenue({
        cwd: context.cwd,
        db: options.db as string | undefined,
        databaseUrl: options['database-url'] as string | undefined,
        assetId: assetId as Hex,
      }).catch((error: unknown) => {
        add({
          name: 'settler funded',
          status: 'warn',
          detail: `the receipt store could not be read (${(error as { code?: string }).code ?? 'unreadable'}): the revenue waiting to be settled is unknown`,
          fix: 'check RMA_DB or RMA_DATABASE_URL',
        })
        return undefined
      })
      if (gas === 0n)
        add({
          name: 'settler gas',
          status: 'fail',
          detail: `the settler ${settler} holds none of the chain's native coin: it cannot send a settle`,
          fix: `send ${settler} some of the native coin for gas`,
        })
      const waiting = unsettled
        ? `; ${unsettled.revenue} waiting in ${unsettled.receipts} unsettled receipt(s)`
        : ''
      add(
        unsettled && unsettled.revenue > deposit + balance
          ? {
              name: 'settler funded',
              status: 'fail',
              detail: `the next batch needs ${unsettled.revenue} (${unsettled.receipts} unsettled receipt(s) in the store) but the settler ${settler} holds ${balance} and has deposited ${deposit}: it would be refused`,
              fix: `send the settler at least ${unsettled.revenue - deposit - balance} more of the payment token, or deposit it`,
            }
          : deposit > 0n
            ? {
                name: 'settler funded',
                status: 'pass',
                detail: `deposit ${deposit} (settles take revenue from it first); balance ${balance}, allowance ${allowance}${waiting}`,
              }
            : balance === 0n
              ? {
                  name: 'settler funded',
                  status: 'fail',
                  detail: `the settler ${settler} holds none of the payment token ${asset.token} and has no deposit: every batch would be refused`,
                  fix: "send the settler the payment token (it pays each batch's revenue in), or deposit for it",
                }
              : allowance === 0n
                ? {
                    name: 'settler funded',
                    status: 'warn',
                    detail: `the settler holds ${balance} but has not approved the contract${waiting}`,
                    fix: 'the settlement client approves before its first batch (one extra transaction); or deposit instead',
                  }
                : {
                    name: 'settler funded',
                    status: 'pass',
                    detail: `balance ${balance}, allowance ${allowance >= 2n ** 255n ? 'unlimited' : allowance}${waiting}`,
                  },
      )
    }

    // Stake.
    add(
      asset.totalStake > 0n
        ? {
            name: 'stake active',
            status: 'pass',
            detail: `${asset.totalStake} active, ${asset.pendingStake} pending`,
          }
        : asset.supportersBps === 0n
          ? { name: 'stake active', status: 'n/a', detail: "the supporters' share is 0 bps" }
          : asset.pendingStake > 0n
            ? {
                name: 'stake active',
                status: 'warn',
                detail: `no active stake; ${asset.pendingStake} pending activates at the next settlement`,
              }
            : {
                name: 'stake active',
                status: 'fail',
                detail: `no stake: the supporters' share (${Number(asset.supportersBps) / 100}%) of every batch is held until someone stakes`,
                fix: 'supporters stake: rma stake <amount> (with RMA_SUPPORTER_PRIVATE_KEY)',
              },
    )

    // Price table: what the asset committed on chain (the roots its meters may price with,
    // and what a mispricing proof is checked against).
    const hasPriceTables = rmaSettlementAbi.some(
      (item) => item.type === 'event' && (item as { name?: string }).name === 'PriceTableCommitted',
    )
    if (!hasPriceTables)
      add({
        name: 'price table committed',
        status: 'n/a',
        detail:
          'this RMASettlement has no on-chain price table; prices live in the provider (RMA_PRICES)',
      })
    else {
      const committed = (await contract.queryFilter(
        contract.filters.PriceTableCommitted!(assetId),
        parseInteger(options['from-block'], '--from-block', 0, 0),
      )) as EventLog[]
      const latest = committed.at(-1)
      add(
        latest
          ? {
              name: 'price table committed',
              status: 'pass',
              detail: `${committed.length} version(s); latest v${latest.args.version} root ${latest.args.root} effective from unix ${latest.args.effectiveFrom}, published at ${latest.args.uri}`,
            }
          : {
              name: 'price table committed',
              status: 'warn',
              detail:
                'no price table committed: a meter with requireCommittedPrices refuses to serve, clients that check commitment refuse its receipts, and no mispricing can be proven',
              fix: "the issuer commits the meter's table: rma asset commit-prices <prices.json> --uri <url>",
            },
      )
    }

    // Batch files.
    const fromBlock = parseInteger(options['from-block'], '--from-block', 0, 0)
    const lastN = parseInteger(options.batches, '--batches', 20, 1)
    const maxBytes = parseInteger(
      options['max-batch-bytes'],
      '--max-batch-bytes',
      256 * 1024 * 1024,
      1,
    )
    const settled = (await contract.queryFilter(
      contract.filters.Settled!(assetId),
      fromBlock,
    )) as EventLog[]
    if (settled.length === 0)
      add({
        name: 'batch files',
        status: 'n/a',
        detail:
          mode === 'prepaid'
            ? 'no postpaid epoch settled: prepaid settlements carry every voucher in their calldata and publish no batch file'
            : 'no epoch settled yet',
      })
    else {
      const domain = createDomain({ chainId, verifyingContract: contractAddress as Hex })
      const recent = settled.slice(-lastN)
      let good = 0
      for (const log of recent) {
        const epoch = Number(log.args.epoch)
        const uri = String(log.args.batchUri)
        const batchHash = String(log.args.batchHash) as Hex
        context.progress(`fetching the batch file of epoch ${epoch}`)
        const name = `batch file epoch ${epoch}`
        let bytes: Uint8Array
        try {
          bytes = await fetchBatchFile(uri, { timeoutMs, maxBytes })
        } catch (error) {
          add({
            name,
            status: 'fail',
            detail: ((error as { shortMessage?: string }).shortMessage ?? String(error)).replace(
              'raise the size limit',
              'raise --max-batch-bytes',
            ),
          })
          continue
        }
        if (hashBytes(bytes) !== batchHash.toLowerCase()) {
          add({
            name,
            status: 'fail',
            detail: `${uri} does not hash to the on-chain batchHash ${batchHash}: the file was altered or replaced after settlement`,
            fix: "restore the settler's original file (batch files are written once, named by their hash) or find who changed it",
          })
          continue
        }
        try {
          parseBatchFile(bytes, uri, {
            domain,
            batchHash,
            receiptsRoot: String(log.args.receiptsRoot) as Hex,
            rebateRoot: String(log.args.rebateRoot) as Hex,
          })
        } catch (error) {
          add({
            name,
            status: 'fail',
            detail: `${uri} matches its hash but not the chain's roots (${(error as { details?: string }).details ?? 'unreadable'})`,
            fix: 'run `rma audit` for the discrepancies: the settler committed a batch its file does not support',
          })
          continue
        }
        if (uri.startsWith('file:'))
          add({
            name,
            status: 'warn',
            detail: `${uri} matches its hash, but only this machine can read a file:// URI`,
            fix: 'publish batch files: set RMA_PUBLIC_URL (the provider serves /rma/batches) or RMA_BATCH_BASE_URI',
          })
        else good++
      }
      if (good > 0)
        add({
          name: 'batch files',
          status: 'pass',
          detail: `${good} of ${recent.length} batch file(s) reachable and matching their on-chain hashes and roots (epochs ${Number(recent[0]!.args.epoch)}–${Number(recent.at(-1)!.args.epoch)})`,
        })
    }
    return done()
  } finally {
    provider.destroy()
  }
}
