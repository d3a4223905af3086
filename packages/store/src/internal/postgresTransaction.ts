import type { Pool, PoolClient } from 'pg'

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT on success, ROLLBACK on error.
 * A connection whose ROLLBACK fails is destroyed rather than returned to the pool mid-transaction.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
  } catch (error) {
    client.release(error as Error)
    throw error
  }
  try {
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError
    })
    throw error
  } finally {
    client.release(broken)
  }
}
