// Preloaded into Portkey's gateway (node --import) by startServerProcess.ts. Node 24's fetch
// returns answers with immutable headers, and @hono/node-server (1.19) keeps them when Portkey
// wraps a streamed answer in a new Response, so Portkey's own `headers.append` throws on every
// SSE call ("TypeError: immutable"). This copies each upstream answer's headers into a mutable
// Headers, the one change the gateway needs to run here; it costs Portkey one Response object
// per call.
const OriginalResponse = globalThis.Response
const originalFetch = globalThis.fetch
globalThis.fetch = async (...args) => {
  const answer = await originalFetch(...args)
  return new OriginalResponse(answer.body, {
    status: answer.status,
    statusText: answer.statusText,
    headers: new Headers(answer.headers),
  })
}
