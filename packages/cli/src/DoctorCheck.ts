/**
 * One line of `rma doctor`: `pass`, `fail` (the deployment is broken here: `fix` says what to
 * change), `warn` (works, but look at it), `skip` (could not be checked: `detail` says what it
 * needs) or `n/a` (does not exist in this deployment, e.g. a contract without price tables).
 */
export type DoctorCheck = {
  name: string
  status: 'pass' | 'fail' | 'warn' | 'skip' | 'n/a'
  detail: string
  fix?: string
}

/** What `rma doctor --json` prints: `ok` is false when any check failed. */
export type DoctorReport = { ok: boolean; checks: DoctorCheck[] }
