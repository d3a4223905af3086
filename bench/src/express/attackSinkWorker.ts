import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parentPort } from 'node:worker_threads'

// The least a server can do with each attack request, on a thread of its own: an unsigned
// request is answered 401 from its headers and its connection destroyed unread; an attested
// prompt is read to its end and dropped (no hash, no parse, no upstream). Attackers aimed here
// instead of at the meter leave the meter's thread only the load of the attack itself (its
// clients and this sink share the machine's cores), so the honest throughput measured beside
// it is a ceiling no meter on this machine can beat.
const server = createServer((req, res) => {
  if (req.headers['rma-attestation'] === undefined) {
    res.writeHead(401, { connection: 'close' }).end()
    req.socket.destroy()
    return
  }
  req.resume()
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  parentPort!.postMessage({ url: `http://127.0.0.1:${port}` })
})
