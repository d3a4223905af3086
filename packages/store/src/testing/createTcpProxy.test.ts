import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTcpProxy, type TcpProxy } from './createTcpProxy.js'

// An echo server that counts what it received, as a database counts the statements it ran.
let echo: Server
let received = 0
beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('data', (chunk) => {
      received += chunk.length
      socket.write(chunk)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
})
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())))

function target() {
  const address = echo.address() as { port: number }
  return { host: '127.0.0.1', port: address.port }
}

/** A client of the proxy collecting what comes back, and how its connection ended. */
async function client(proxy: TcpProxy) {
  const socket: Socket = tcpConnect({ host: proxy.host, port: proxy.port })
  let data = ''
  let failed: Error | undefined
  let closed = false
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    data += chunk
  })
  socket.on('error', (error) => {
    failed = error
  })
  socket.on('close', () => {
    closed = true
  })
  // A refused connection may be reset before its connect event.
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve())
    socket.once('close', () => resolve())
  })
  return {
    socket,
    get data() {
      return data
    },
    get failed() {
      return failed
    },
    get closed() {
      return closed
    },
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await sleep(5)
  expect(condition()).toBe(true)
}

describe('createTcpProxy', () => {
  test('forwards both ways; dropReplies lets requests through and discards the replies', async () => {
    const proxy = await createTcpProxy({ target: target() })
    const c = await client(proxy)
    c.socket.write('hello')
    await until(() => c.data === 'hello')
    proxy.dropReplies()
    const before = received
    c.socket.write('lost')
    await until(() => received === before + 4)
    await until(() => proxy.droppedBytes === 4)
    proxy.resume()
    c.socket.write('!')
    await until(() => c.data === 'hello!')
    c.socket.destroy()
    await proxy.close()
  })

  test('pause holds bytes both ways, in order, until resume', async () => {
    const proxy = await createTcpProxy({ target: target() })
    const c = await client(proxy)
    proxy.pause()
    const before = received
    c.socket.write('a')
    c.socket.write('b')
    await sleep(50)
    expect([received - before, c.data]).toEqual([0, ''])
    proxy.resume()
    await until(() => c.data === 'ab')
    c.socket.destroy()
    await proxy.close()
  })

  test('cut resets open connections; refuse resets new ones until accept', async () => {
    const proxy = await createTcpProxy({ target: target() })
    const c = await client(proxy)
    expect(proxy.connections).toBe(1)
    proxy.cut()
    await until(() => c.closed)
    expect(c.failed).toMatchObject({ code: 'ECONNRESET' })
    expect(proxy.connections).toBe(0)
    proxy.refuse()
    const refused = await client(proxy)
    await until(() => refused.closed)
    expect(refused.data).toBe('')
    proxy.accept()
    const back = await client(proxy)
    back.socket.write('again')
    await until(() => back.data === 'again')
    back.socket.destroy()
    await proxy.close()
  })
})
