import type { Command } from './Command.js'
import { assetCommitPricesCommand } from './commands/assetCommitPrices.js'
import { assetRegisterCommand } from './commands/assetRegister.js'
import { assetSetChallengeWindowCommand } from './commands/assetSetChallengeWindow.js'
import { assetSetMeterCommand } from './commands/assetSetMeter.js'
import { assetSetSettlerCommand } from './commands/assetSetSettler.js'
import { auditCommand } from './commands/audit.js'
import { balanceCommand } from './commands/balance.js'
import { claimCommand } from './commands/claim.js'
import { deployCommand } from './commands/deploy.js'
import { depositCommand } from './commands/deposit.js'
import { doctorCommand } from './commands/doctor.js'
import { proveCommand } from './commands/prove.js'
import { serveCommand } from './commands/serve.js'
import { settleCommand } from './commands/settle.js'
import { stakeCommand } from './commands/stake.js'
import { statusCommand } from './commands/status.js'
import { unstakeCommand } from './commands/unstake.js'
import { withdrawCommand } from './commands/withdraw.js'
import { withdrawBalanceCommand } from './commands/withdrawBalance.js'

/**
 * Every `rma` command, in the order `rma --help` lists them.
 *
 * @example
 * const doctor = commandList.find((c) => c.name === 'doctor')
 */
export const commandList: readonly Command[] = [
  doctorCommand,
  statusCommand,
  auditCommand,
  serveCommand,
  deployCommand,
  assetRegisterCommand,
  assetSetMeterCommand,
  assetSetSettlerCommand,
  assetCommitPricesCommand,
  assetSetChallengeWindowCommand,
  stakeCommand,
  unstakeCommand,
  withdrawCommand,
  claimCommand,
  depositCommand,
  withdrawBalanceCommand,
  balanceCommand,
  settleCommand,
  proveCommand,
]
