import { request } from 'node:http'
import { parentPort, workerData } from 'node:worker_threads'
import {
  type Address,
  createDomain,
  encodeAttestation,
  type Hex,
  hashBytes,
  signAttestation,
} from '@rma/core'
import { assetId, chainId, createFakeUpstream, settlementContract } from '@rma/express/testing'
import { Wallet } from 'ethers'
import { Pool } from 'undici'

// One worker thread per role of attack.bench.ts, so the metered server on the main thread does
// nothing but serve: `honest` hosts the fake upstream and the honest clients, `attacker` runs
// the attackers. Messages: { type: 'honest', origin, ms } → { completed, failed };
// { type: 'attack', kind, origin, clients } starts attackers; { type: 'stop' } stops them.

export type AttackKind = 'unsigned-10MiB' | 'aborted-8MiB-stream'
export type ToAttackWorker =
  | { type: 'honest'; origin: string; ms: number; concurrency: number }
  | { type: 'attack'; kind: AttackKind; origin: string; clients: number }
  | { type: 'stop' }
export type FromAttackWorker =
  | { type: 'ready'; upstreamUrl?: string }
  | { type: 'honest'; completed: number; failed: number }
  | { type: 'stopped'; sent: number }

const port = parentPort
if (!port) throw new Error('attackWorker.ts runs as a worker thread')
const role = (workerData as { role: 'honest' | 'attacker' }).role
const domain = createDomain({ chainId, verifyingContract: settlementContract })
const MiB = 1024 * 1024

async function attestation(user: Wallet, requestHash: Hex, nonce: bigint): Promise<string> {
  return encodeAttestation(
    await signAttestation({
      signer: user,
      domain,
      attestation: {
        assetId,
        user: user.address as Address,
        requestHash,
        nonce,
        expiry: Math.floor(Date.now() / 1000) + 300,
        maxAmount: 10n ** 15n,
      },
    }),
  )
}

let nonce = BigInt(Date.now()) * 1000n

/** Closed-loop honest users: an attested JSON chat call each, the next when it is answered. */
async function honest(origin: string, ms: number, concurrency: number) {
  const pool = new Pool(origin, { connections: concurrency, keepAliveTimeout: 60_000 })
  const user = Wallet.createRandom() as unknown as Wallet
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Hello, how are you?' }],
  })
  const hash = hashBytes(body)
  const end = performance.now() + ms
  let completed = 0
  let failed = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          const header = await attestation(user, hash, ++nonce)
          const res = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'rma-attestation': header },
            body,
          })
          await res.body.arrayBuffer()
          if (res.statusCode === 200 && res.headers['rma-receipt']) completed++
          else failed++
        } catch {
          failed++
        }
      }
    }),
  )
  await pool.close()
  return { completed, failed }
}

let running = false
let sent = 0
const loops: Promise<void>[] = []

/** One request of an attack, resolved when its connection is gone. */
function attackOnce(
  origin: string,
  headers: Record<string, string>,
  body: Buffer,
  abortSent: boolean,
) {
  const url = new URL(origin)
  return new Promise<void>((resolve) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: '/v1/chat/completions',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        ...headers,
      },
    })
    req.on('error', () => resolve())
    req.on('close', () => resolve())
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => req.destroy())
    })
    // An aborted prompt: the whole body is sent, then the client leaves before the first byte.
    req.end(body, () => {
      sent++
      if (abortSent) setImmediate(() => req.destroy())
    })
  })
}

async function attack(kind: AttackKind, origin: string, clients: number) {
  running = true
  if (kind === 'unsigned-10MiB') {
    const body = Buffer.alloc(10 * MiB, 0x20)
    for (let c = 0; c < clients; c++)
      loops.push(
        (async () => {
          while (running) await attackOnce(origin, {}, body, false)
        })(),
      )
    return
  }
  // Attested (the attacker pays nothing: it aborts before the answer) 8 MiB stream prompts.
  const user = Wallet.createRandom() as unknown as Wallet
  const body = Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      max_tokens: 16,
      messages: [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat((8 * MiB) / 27) }],
    }),
  )
  const hash = hashBytes(body)
  for (let c = 0; c < clients; c++)
    loops.push(
      (async () => {
        while (running)
          await attackOnce(
            origin,
            { 'rma-attestation': await attestation(user, hash, ++nonce) },
            body,
            true,
          )
      })(),
    )
}

if (role === 'honest') {
  const upstream = await createFakeUpstream()
  port.postMessage({ type: 'ready', upstreamUrl: upstream.url } satisfies FromAttackWorker)
} else port.postMessage({ type: 'ready' } satisfies FromAttackWorker)

port.on('message', async (message: ToAttackWorker) => {
  if (message.type === 'honest') {
    const result = await honest(message.origin, message.ms, message.concurrency)
    port.postMessage({ type: 'honest', ...result } satisfies FromAttackWorker)
  } else if (message.type === 'attack') await attack(message.kind, message.origin, message.clients)
  else {
    running = false
    await Promise.all(loops.splice(0))
    port.postMessage({ type: 'stopped', sent } satisfies FromAttackWorker)
    sent = 0
  }
})
