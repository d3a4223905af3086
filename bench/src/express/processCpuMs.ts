import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined

/**
 * CPU time (user + system) a process has used so far, every thread included, in ms, from
 * `/proc/<pid>/stat` (Linux). Its resolution is one clock tick (10 ms at the usual 100 Hz):
 * take differences over runs of a second or more.
 */
export function processCpuMs(pid: number): number {
  ticksPerSecond ??=
    Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return ((utime + stime) * 1000) / ticksPerSecond
}
