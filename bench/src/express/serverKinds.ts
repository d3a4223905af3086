/**
 * The servers the proxy bench puts in front of the same upstream, each in a process of its own
 * so that its CPU is measured for the whole process (every thread: the SQLite writer, GC):
 * - `metered`: `createMeteredApp` (rmaMeter + rmaRouter + openaiProxy, receipts fsynced to SQLite);
 * - `unmetered`: `express.json()` + `openaiProxy` with the same proxy options;
 * - `passthrough`: a minimal `node:http` server piping each request to the upstream and back;
 * - `portkey`: Portkey's open-source gateway (`@portkey-ai/gateway`), OpenAI provider pointed
 *   at the upstream with its custom-host header.
 */
export type ServerKind = 'metered' | 'unmetered' | 'passthrough' | 'portkey'

/** What a server child process is asked over IPC, and what it answers. */
export type ToServer =
  | { type: 'stored'; users: string[] }
  /** Starts the V8 CPU profiler on the server's main thread (`node:inspector`). */
  | { type: 'profileStart' }
  /** Stops it and writes the `.cpuprofile` JSON to `path`. */
  | { type: 'profileStop'; path: string }
  | { type: 'close' }
export type FromServer =
  | { type: 'ready'; url: string }
  | { type: 'stored'; receipts: number }
  | { type: 'profiled' }
