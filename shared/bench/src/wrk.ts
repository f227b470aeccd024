import { execFile, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { readChildrenCpuSeconds } from './process-stats.ts'
import { placeholdersOf, validateTemplate, type RequestTemplate } from './request-mix.ts'

/**
 * wrk (https://github.com/wg/wrk) is an HTTP load generator written in C on epoll: one thread
 * sends and parses requests at a small fraction of the CPU a Node generator needs per request,
 * so on a 2-core machine the target, not the generator, sets the pace. It is scripted in LuaJIT:
 * the script generated here draws the scenario's requests (Zipf paths, unique POST bodies) and
 * prints its figures as JSON from wrk's `done()` hook.
 */

/** The line of wrk's output that holds the script's JSON. */
export const WRK_RESULT_MARK = '@kit/bench:wrk-result'

/** The wrk binary: WRK_BIN, else `wrk` on PATH; null when there is none. */
export function findWrk(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env.WRK_BIN
    ? [env.WRK_BIN]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'wrk'))
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return null
}

/** 'debian/4.1.0-3+b2' → '4.1.0'; wrk -v prints the version and exits 1. */
export async function wrkVersion(bin: string): Promise<string> {
  const output = await promisify(execFile)(bin, ['-v']).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`
  )
  const match = /^wrk\s+(?:\S*?\/)?v?(\d+\.\d+\.\d+)/m.exec(output)
  return match?.[1] ?? 'unknown'
}

/** A Lua string literal for any text: bytes outside printable ASCII become `\ddd` escapes. */
export function luaString(text: string): string {
  let out = '"'
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22) out += '\\"'
    else if (byte === 0x5c) out += '\\\\'
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else out += `\\${String(byte).padStart(3, '0')}`
  }
  return `${out}"`
}

/** A Lua expression for a template string: literals and the `pick` / `unique` variables. */
function luaTemplate(text: string): string {
  const parts = text.split(/(\{pick\}|\{unique\})/).filter((part) => part !== '')
  if (parts.length === 0) return '""'
  return parts
    .map((part) => (part === '{pick}' ? 'pick' : part === '{unique}' ? 'unique' : luaString(part)))
    .join(' .. ')
}

export type WrkScriptOptions = {
  template: RequestTemplate
  /** wrk's -t: the `{unique}` values are interleaved over the threads. */
  threads: number
  /** The first `{unique}` value this run may use. */
  firstUnique?: number
  /** Requests written back to back on a connection before reading (HTTP/1.1 pipelining). */
  pipelining?: number
  /** Seeds LuaJIT's math.random, plus the thread's number. */
  seed?: number
}

/**
 * The Lua script that makes wrk send `template`'s requests and report what it did.
 *
 * - `request()` draws each request: `{pick}` by the template's distribution (Zipf through a
 *   binary search of cumulative weights, as `createZipf` does), `{unique}` from a counter that
 *   thread k of t advances as first + (k-1) + t·j, so no value is sent twice. Requests without
 *   `{unique}` are formatted once per pick value in `init()`.
 * - `response()` counts statuses (wrk itself only counts those above 399).
 * - `done()` prints one line, `@kit/bench:wrk-result {json}`: requests, duration, latency
 *   percentiles in µs from wrk's own histogram, errors, statuses, and the requests built per pick
 *   value, which `parseWrkResult()` reads.
 */
export function renderWrkScript({
  template,
  threads,
  firstUnique = 1,
  pipelining = 1,
  seed = 1,
}: WrkScriptOptions): string {
  validateTemplate(template)
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be >= 1`)
  if (!Number.isInteger(pipelining) || pipelining < 1)
    throw new RangeError(`pipelining must be >= 1`)
  const values = template.pick?.values ?? []
  for (const value of values) {
    if (/[\r\n]/.test(value)) throw new RangeError(`a pick value holds a line break: ${value}`)
  }
  const { pick: usesPick, unique: usesUnique } = placeholdersOf(template)
  const distribution = template.pick?.distribution
  const kind = !usesPick
    ? 'none'
    : typeof distribution === 'object'
      ? 'zipf'
      : (distribution ?? 'uniform')
  const zipfExponent = typeof distribution === 'object' ? distribution.zipf : 0
  const headers = Object.entries(template.headers ?? {})
    .map(([name, value]) => `[${luaString(name)}] = ${luaTemplate(value)}`)
    .join(', ')
  const body = template.body === undefined ? 'nil' : luaTemplate(template.body)

  return `-- Generated by @kit/bench (shared/bench/src/wrk.ts) for one wrk run. Do not edit.
local method = ${luaString(template.method ?? 'GET')}
-- The values {pick} stands for, one per line (a long string keeps the chunk's constants few).
local values_blob = ${luaString(usesPick ? values.map((v) => `${v}\n`).join('') : '')}
local distribution = "${kind}"
local zipf_s = ${zipfExponent}
local uses_unique = ${usesUnique}
local first_unique = ${firstUnique}
local thread_total = ${threads}
local pipelining = ${pipelining}
local seed = ${seed}

-- wrk.format adds Host and Content-Length to the table it is given: a fresh one per request.
local function build(pick, unique)
  return wrk.format(method, ${luaTemplate(template.path)}, { ${headers} }, ${body})
end

-- Main state: number the threads, keep them for done().
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

-- Thread state. Globals, so that done() can read them with thread:get().
local values, n, cumulative, total_weight, cursor, prebuilt
function init(args)
  math.randomseed(seed + thread_index)
  values = {}
  for value in string.gmatch(values_blob, "([^\\n]*)\\n") do values[#values + 1] = value end
  n = #values
  counts = {}
  for i = 1, n do counts[i] = 0 end
  statuses = {}
  built = 0
  unique_steps = 0
  if distribution == "zipf" then
    cumulative, total_weight = {}, 0
    for k = 1, n do
      total_weight = total_weight + 1 / (k ^ zipf_s)
      cumulative[k] = total_weight
    end
  end
  cursor = math.floor((thread_index - 1) * n / thread_total)
  if not uses_unique then
    prebuilt = {}
    if n == 0 then prebuilt[1] = build(nil, nil) end
    for i = 1, n do prebuilt[i] = build(values[i], nil) end
  end
end

local function draw()
  if distribution == "zipf" then
    local target = math.random() * total_weight
    local low, high = 1, n
    while low < high do
      local mid = math.floor((low + high) / 2)
      if cumulative[mid] > target then high = mid else low = mid + 1 end
    end
    return low
  elseif distribution == "cycle" then
    cursor = cursor % n + 1
    return cursor
  elseif distribution == "uniform" then
    return math.random(n)
  end
  return nil
end

local function one()
  local index = draw()
  if index then counts[index] = counts[index] + 1 end
  built = built + 1
  if uses_unique then
    local unique = first_unique + (thread_index - 1) + thread_total * unique_steps
    unique_steps = unique_steps + 1
    return build(index and values[index], tostring(unique))
  end
  return prebuilt[index or 1]
end

function request()
  if pipelining == 1 then return one() end
  local batch = {}
  for i = 1, pipelining do batch[i] = one() end
  return table.concat(batch)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local function number(x)
  return string.format("%.0f", x)
end

function done(summary, latency, requests)
  local by_pick, all_statuses = {}, {}
  local built_total, max_steps = 0, 0
  for _, thread in ipairs(threads) do
    local thread_counts = thread:get("counts") or {}
    for i, count in ipairs(thread_counts) do by_pick[i] = (by_pick[i] or 0) + count end
    for status, count in pairs(thread:get("statuses") or {}) do
      all_statuses[status] = (all_statuses[status] or 0) + count
    end
    built_total = built_total + (thread:get("built") or 0)
    max_steps = math.max(max_steps, thread:get("unique_steps") or 0)
  end
  local picks = {}
  for i = 1, #by_pick do picks[i] = number(by_pick[i]) end
  local status_fields = {}
  for status, count in pairs(all_statuses) do
    status_fields[#status_fields + 1] = '"' .. number(status) .. '":' .. number(count)
  end
  local e = summary.errors
  io.write("${WRK_RESULT_MARK} {",
    '"requests":', number(summary.requests),
    ',"durationUs":', number(summary.duration),
    ',"bytes":', number(summary.bytes),
    ',"errors":{"connect":', number(e.connect), ',"read":', number(e.read),
    ',"write":', number(e.write), ',"status":', number(e.status),
    ',"timeout":', number(e.timeout), '}',
    ',"latencyUs":{"p50":', number(latency:percentile(50)),
    ',"p97_5":', number(latency:percentile(97.5)),
    ',"p99":', number(latency:percentile(99)),
    ',"max":', number(latency.max), '}',
    ',"statuses":{', table.concat(status_fields, ","), '}',
    ',"built":', number(built_total),
    ',"byPick":[', table.concat(picks, ","), ']',
    ',"nextUnique":', number(first_unique + thread_total * max_steps),
    "}\\n")
end
`
}

/** What one wrk run did, as its script's `done()` printed it. */
export type WrkResult = {
  /** Responses received. */
  requests: number
  durationSeconds: number
  bytes: number
  errors: { connect: number; read: number; write: number; status: number; timeout: number }
  latencyMs: { p50: number; p97_5: number; p99: number; max: number }
  /** Count of every status received. */
  statuses: Record<string, number>
  /** Requests the script built (sent or in flight at the end). */
  built: number
  /** Requests built per pick value, by index. */
  byPick: number[]
  /** The first `{unique}` value no request of this run used. */
  nextUnique: number
}

/** wrk's output held no result line, or one that is not what the script prints. */
export class WrkOutputError extends Error {
  readonly output: string
  constructor(message: string, output: string) {
    super(`${message}\n--- wrk output ---\n${output.slice(-2000)}`)
    this.name = this.constructor.name
    this.output = output
  }
}

function count(value: unknown, field: string, output: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new WrkOutputError(`wrk result: ${field} is ${JSON.stringify(value)}`, output)
  }
  return value
}

/**
 * Reads the result line of a wrk run's output. wrk's own text (its summary, "Running 10s
 * test…", socket error lines) may surround it; only the marked line is parsed, and every field
 * is checked, so a changed or truncated output fails loudly instead of reporting zeros.
 */
export function parseWrkResult(output: string): WrkResult {
  const line = output.split('\n').find((l) => l.startsWith(`${WRK_RESULT_MARK} `))
  if (line === undefined) throw new WrkOutputError('wrk printed no result line', output)
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(line.slice(WRK_RESULT_MARK.length + 1)) as Record<string, unknown>
  } catch (error) {
    throw new WrkOutputError(`wrk result line is not JSON: ${(error as Error).message}`, output)
  }
  const object = (value: unknown, field: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new WrkOutputError(`wrk result: ${field} is not an object`, output)
    }
    return value as Record<string, unknown>
  }
  const errors = object(raw.errors, 'errors')
  const latency = object(raw.latencyUs, 'latencyUs')
  const statuses: Record<string, number> = {}
  for (const [status, n] of Object.entries(object(raw.statuses, 'statuses'))) {
    if (!/^\d{3}$/.test(status)) throw new WrkOutputError(`wrk result: status ${status}`, output)
    statuses[status] = count(n, `statuses.${status}`, output)
  }
  if (!Array.isArray(raw.byPick)) throw new WrkOutputError('wrk result: byPick', output)
  const ms = (field: string) => count(latency[field], `latencyUs.${field}`, output) / 1000
  return {
    requests: count(raw.requests, 'requests', output),
    durationSeconds: count(raw.durationUs, 'durationUs', output) / 1e6,
    bytes: count(raw.bytes, 'bytes', output),
    errors: {
      connect: count(errors.connect, 'errors.connect', output),
      read: count(errors.read, 'errors.read', output),
      write: count(errors.write, 'errors.write', output),
      status: count(errors.status, 'errors.status', output),
      timeout: count(errors.timeout, 'errors.timeout', output),
    },
    latencyMs: { p50: ms('p50'), p97_5: ms('p97_5'), p99: ms('p99'), max: ms('max') },
    statuses,
    built: count(raw.built, 'built', output),
    byPick: raw.byPick.map((n, i) => count(n, `byPick[${i}]`, output)),
    nextUnique: count(raw.nextUnique, 'nextUnique', output),
  }
}

export type RunWrkOptions = {
  bin: string
  /** The target's base URL, e.g. http://127.0.0.1:3000 (paths come from the template). */
  url: string
  template: RequestTemplate
  connections: number
  threads: number
  durationSeconds: number
  pipelining?: number
  firstUnique?: number
  seed?: number
  /** A response slower than this counts as a timeout (default 10 s, as autocannon's). */
  timeoutSeconds?: number
}

/**
 * One wrk run against a target; resolves with its parsed result and the CPU seconds wrk used
 * (its user + system time, read from this process's reaped-children times in /proc/self/stat).
 * wrk's `-d` takes whole seconds: a fractional duration is ended by SIGINT, on which wrk stops
 * and reports what it measured so far.
 */
export async function runWrk({
  bin,
  url,
  template,
  connections,
  threads,
  durationSeconds,
  pipelining = 1,
  firstUnique = 1,
  seed = 1,
  timeoutSeconds = 10,
}: RunWrkOptions): Promise<{ result: WrkResult; cpuSeconds: number }> {
  const t = Math.max(1, Math.min(threads, connections))
  const dir = await mkdtemp(join(tmpdir(), 'kit-bench-wrk-'))
  try {
    const script = join(dir, 'requests.lua')
    await writeFile(
      script,
      renderWrkScript({ template, threads: t, firstUnique, pipelining, seed })
    )
    const argv = [
      ...['-t', String(t), '-c', String(connections)],
      ...['-d', `${Math.max(1, Math.ceil(durationSeconds))}s`],
      ...['--timeout', `${timeoutSeconds}s`, '-s', script, `${url.replace(/\/$/, '')}/`],
    ]
    const cpuBefore = await readChildrenCpuSeconds()
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    const stopEarly = Number.isInteger(durationSeconds)
      ? undefined
      : setTimeout(() => child.kill('SIGINT'), durationSeconds * 1000)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', resolve)
    }).finally(() => clearTimeout(stopEarly))
    const cpuSeconds = (await readChildrenCpuSeconds()) - cpuBefore
    if (code !== 0) throw new WrkOutputError(`${bin} ${argv.join(' ')} exited with ${code}`, output)
    return { result: parseWrkResult(output), cpuSeconds }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
