// Compiles contracts/*.sol and writes src/artifacts/<Name>.ts (ABI and bytecode as typed
// consts). Run with `pnpm --filter @rma/contracts compile`; commit the result.
// src/artifacts.test.ts checks that the committed artifacts equal a fresh compile.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { artifactSource, compileContracts, compilerSettings } from './compileContracts.js'

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const { solcVersion, contracts } = compileContracts()
const files = contracts.map((contract) => {
  const file = join(packageRoot, 'src', 'artifacts', `${contract.name}.ts`)
  writeFileSync(file, artifactSource(contract, solcVersion))
  return file
})
// Format like the rest of the repo (single quotes, no semicolons).
execFileSync('pnpm', ['exec', 'biome', 'format', '--write', ...files], {
  cwd: packageRoot,
  stdio: 'inherit',
})
process.stdout.write(
  `Compiled ${contracts.map((c) => c.name).join(', ')} with solc ${solcVersion} (${JSON.stringify(compilerSettings)}).\n`,
)
