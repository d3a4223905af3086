import type { Pool, PoolClient } from 'pg'

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT on success, ROLLBACK on error.
 * A connection whose ROLLBACK fails (reset, or timed out) is destroyed rather than returned to
 * the pool mid-transaction. `timeoutMs` bounds BEGIN, COMMIT
 * and ROLLBACK (pass it to `work`'s own queries too).
 */
export async function withTransaction<T>(
  pool: Pool,
  timeoutMs: number | undefined,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
  const statement = (text: string) =>
    client.query({ text, ...(timeoutMs ? { query_timeout: timeoutMs } : {}) } as { text: string })
  let broken: Error | undefined
  try {
    await statement('BEGIN')
  } catch (error) {
    client.release(error as Error)
    throw error
  }
  try {
    const result = await work(client)
    await statement('COMMIT')
    return result
  } catch (error) {
    await statement('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError
    })
    throw error
  } finally {
    client.release(broken)
  }
}
