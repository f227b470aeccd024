import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

let clockTicks: number | undefined

/** USER_HZ, the unit of the CPU times in /proc/<pid>/stat (100 on every common Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/**
 * CPU time (user + system, seconds) the process has used so far, from /proc/<pid>/stat
 * (proc(5): fields 14 utime and 15 stime, in clock ticks). Only the process itself: children it
 * has not waited for are not counted, so a target must serve from the spawned process.
 */
export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Field 2 (comm) is parenthesised and may contain spaces; count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot parse /proc/${pid}/stat: ${stat.slice(0, 120)}`)
  }
  return (utime + stime) / ticksPerSecond()
}

/** Resident set size in bytes, from VmRSS in /proc/<pid>/status. */
export async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`)
  return Number(match[1]) * 1024
}

/** CPU seconds (user + system) of this process since `since` (a process.cpuUsage() value). */
export function generatorCpuSeconds(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since)
  return (user + system) / 1e6
}

/**
 * CPU time (user + system, seconds) of this process's children that have exited and been
 * reaped (proc(5): fields 16 cutime and 17 cstime of /proc/self/stat). The difference across a
 * child's whole life is that child's CPU: how the wrk process is measured, since its own
 * /proc entry is gone once it has exited.
 */
export async function readChildrenCpuSeconds(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so cutime (16) is fields[13] and cstime (17) fields[14].
  const cutime = Number(fields[13])
  const cstime = Number(fields[14])
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) {
    throw new Error(`cannot parse /proc/self/stat: ${stat.slice(0, 120)}`)
  }
  return (cutime + cstime) / ticksPerSecond()
}
