import { availableParallelism, cpus, totalmem } from 'node:os'

export type MachineInfo = {
  node: string
  platform: string
  arch: string
  cpus: { model: string; count: number }
  memoryGiB: number
  date: string
  quick: boolean
}

/** What the figures were measured on: ratios travel between machines, but not perfectly. */
export function machineInfo(quick: boolean): MachineInfo {
  const list = cpus()
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: { model: list[0]?.model.trim() ?? 'unknown', count: availableParallelism() },
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
    quick,
  }
}
