import { expect, test } from 'vitest'
import { startAnvil } from './startAnvil.js'

test('starts anvil on a free port with funded default accounts, and stops it', async () => {
  const [a, b] = await Promise.all([startAnvil({ accounts: 3 }), startAnvil({ chainId: 8453 })])
  try {
    expect(a.url).not.toBe(b.url)
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(a.accounts).toHaveLength(3)
    expect(b.accounts).toHaveLength(10)
    // anvil's well-known account 0 of the default mnemonic
    expect(a.accounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(await a.provider.getBalance(a.accounts[2]!.address)).toBe(10_000n * 10n ** 18n)
    expect((await b.provider.getNetwork()).chainId).toBe(8453n)
    // automine: a transfer is mined as it is sent
    const tx = await a.accounts[0]!.sendTransaction({ to: a.accounts[1]!.address, value: 1n })
    expect((await tx.wait())?.status).toBe(1)
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
  await expect(fetch(a.url, { method: 'POST' })).rejects.toThrow()
  await a.stop() // idempotent
}, 30_000)

test('snapshot, revert and increaseTime', async () => {
  const anvil = await startAnvil({ accounts: 2 })
  try {
    const [alice, bob] = anvil.accounts as [(typeof anvil.accounts)[0], (typeof anvil.accounts)[0]]
    const snapshot = await anvil.snapshot()
    const before = await anvil.provider.getBalance(bob.address)
    await (await alice.sendTransaction({ to: bob.address, value: 5n })).wait()
    expect(await anvil.provider.getBalance(bob.address)).toBe(before + 5n)
    await anvil.revert(snapshot)
    expect(await anvil.provider.getBalance(bob.address)).toBe(before)
    const t0 = (await anvil.provider.getBlock('latest'))!.timestamp
    await anvil.increaseTime(3_600)
    expect((await anvil.provider.getBlock('latest'))!.timestamp).toBeGreaterThanOrEqual(t0 + 3_600)
  } finally {
    await anvil.stop()
  }
}, 30_000)

test('fails with anvil’s message when the port is taken', async () => {
  const first = await startAnvil({ accounts: 1 })
  try {
    const port = Number(new URL(first.url).port)
    await expect(startAnvil({ port, timeoutMs: 5_000 })).rejects.toThrow(/anvil/)
  } finally {
    await first.stop()
  }
}, 30_000)
