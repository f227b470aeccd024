import { Worker } from 'node:worker_threads'
import type { RawData, WebSocket } from 'ws'
import { describeEnvironment, packageVersion } from './environment.ts'
import { formatDecimal } from './format.ts'
import { LatencyRecorder } from './latency.ts'
import { generatorCpuSeconds, readCpuSeconds, readRssBytes } from './process-stats.ts'
import { roundOrder } from './run-benchmark.ts'
import { GENERATOR_SATURATION, summarizeTargets } from './stats.ts'
import type { BenchResult, BenchTarget, RoundResult } from './types.ts'

/**
 * How the driver's clients speak a server's protocol: an ES module (plain JavaScript, since
 * worker threads load it) whose default export is this object. `receive` answers 'ready' once a
 * client is in the room, the body of a benchmark message when one arrives (the driver put
 * `<sender>:<sent at, ns>` in it), or null for anything else (answer protocol pings there).
 */
export type WsProtocol = {
  connect(
    urls: readonly string[],
    index: number,
    shared: unknown
  ): { url: string; protocols?: string[]; headers?: Record<string, string> }
  open(ws: WebSocket, index: number, shared: unknown): void
  receive(
    ws: WebSocket,
    data: RawData,
    isBinary: boolean,
    index: number,
    shared: unknown
  ): string | null
  message(index: number, seq: number, body: string, shared: unknown): string
}

/** A started server (one or several processes, e.g. two instances and their Redis). */
export type WsStartedTarget = {
  /** Where clients connect; client i goes to urls[i % urls.length]. */
  urls: string[]
  /** Every process whose CPU and memory the target costs. */
  pids: number[]
  /**
   * Runs a full garbage collection in every Node process of the target (e.g. through the
   * inspector's HeapProfiler.collectGarbage). A connection scenario calls it before each RSS
   * reading, so the memory compared is what connections hold, not the garbage their handshakes
   * left since the last collection. Without it RSS is read as it is.
   */
  collectGarbage?(): Promise<void>
  stop(): Promise<void>
}

/** A server to measure, and how clients speak to it. */
export type WsTarget = {
  name: string
  kind: BenchTarget['kind']
  /** The URL of its WsProtocol module (e.g. `new URL('./protocols/chat.mjs', import.meta.url).href`). */
  adapter: string
  start(): Promise<WsStartedTarget>
  /** Once after it started: what its clients need (a room, tokens), handed to the protocol. */
  prepare?(target: WsStartedTarget, clients: number): Promise<unknown>
}

/** The load of a fan-out: senders keep `window` messages in flight each, or offer a rate. */
export type WsLoad =
  { mode: 'closed'; window: number } | { mode: 'open'; messagesPerSecond: number }

export type WsScenario = {
  /** File-safe name; names the result file and the chart. */
  name: string
  description: string
  /**
   * 'fanout': clients in a room, senders among them, deliveries counted with their latency;
   * 'connections': clients connect and hold for `durationSeconds`; connect rate, handshake
   * latency and the memory they cost.
   */
  kind: 'fanout' | 'connections'
  clients: number
  senders?: number
  load?: WsLoad
  durationSeconds: number
  warmupSeconds?: number
}

export type RunWsBenchmarkOptions = {
  project: string
  scenario: WsScenario
  /** Exactly one of kind 'baseline'. */
  targets: WsTarget[]
  rounds?: number
  /** One round, a tenth of the clients (at least 10), 1 s windows: checks the wiring. */
  smoke?: boolean
  command: string
  /** Client worker threads; default 2. */
  workers?: number
  notes?: string[]
  /** Packages whose versions the result records besides the kit's stack. */
  versions?: string[]
  cwd?: string
  log?: (line: string) => void
}

type WorkerReply = { event: string; [key: string]: unknown }

/** A pool of client threads for one round of one target. */
class ClientThreads {
  private readonly threads: Worker[]
  private readonly replies: Map<Worker, ((reply: WorkerReply) => void)[]> = new Map()

  constructor(count: number, data: (i: number) => unknown) {
    this.threads = Array.from(
      { length: count },
      (_, i) =>
        new Worker(new URL('./ws-clients.worker.mjs', import.meta.url), { workerData: data(i) })
    )
    for (const thread of this.threads) {
      this.replies.set(thread, [])
      thread.on('message', (reply: WorkerReply) => this.replies.get(thread)!.shift()?.(reply))
      thread.on('error', (error) => {
        throw error
      })
    }
  }

  /** Sends `command` to every thread; resolves with each thread's next reply. */
  ask(command: object): Promise<WorkerReply[]> {
    return Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<WorkerReply>((resolve) => {
            this.replies.get(thread)!.push(resolve)
            thread.postMessage(command)
          })
      )
    )
  }

  ready(): Promise<WorkerReply[]> {
    return Promise.all(
      this.threads.map(
        (thread) => new Promise<WorkerReply>((resolve) => this.replies.get(thread)!.push(resolve))
      )
    )
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()))
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000))

async function cpuOf(pids: number[]): Promise<number> {
  return sum(await Promise.all(pids.map(readCpuSeconds)))
}
async function rssOf(pids: number[]): Promise<number> {
  return sum(await Promise.all(pids.map(readRssBytes)))
}

/**
 * The kit's WebSocket driver: measures WebSocket servers with clients spread over worker
 * threads (so one Node thread does not set the pace), interleaved and rotated round by round as
 * `runBenchmark` does, and answers a result `saveResult` renders like any other. A fan-out
 * counts deliveries (every copy a client receives) and their latency from the sender's clock
 * (hrtime: one monotonic clock for every thread); the target's CPU per delivery is read from
 * /proc beside it. A connection scenario counts handshakes and the memory held per connection.
 *
 * @example
 * ```ts
 * const result = await runWsBenchmark({
 *   project: 'chat', scenario: fanout, command: 'pnpm --filter @kit/chat bench',
 *   targets: [chat, rawWs, socketIo],
 * })
 * await saveResult('benchmarks', result)
 * ```
 */
export async function runWsBenchmark({
  project,
  scenario,
  targets,
  smoke = false,
  rounds = smoke ? 1 : 5,
  command,
  workers = 2,
  notes = [],
  versions = [],
  cwd = process.cwd(),
  log = (line) => process.stderr.write(`${line}\n`),
}: RunWsBenchmarkOptions): Promise<BenchResult> {
  if (targets.filter((t) => t.kind === 'baseline').length !== 1) {
    throw new RangeError('runWsBenchmark needs exactly one target of kind "baseline"')
  }
  const clients = smoke ? Math.max(10, Math.ceil(scenario.clients / 10)) : scenario.clients
  const senders = Math.min(scenario.senders ?? 0, clients)
  const durationSeconds = smoke ? 1 : scenario.durationSeconds
  const warmupSeconds = smoke ? 0.2 : (scenario.warmupSeconds ?? 1)
  const date = new Date().toISOString()
  const environment = await describeEnvironment(cwd)
  for (const name of versions) {
    const version = await packageVersion(name, cwd)
    if (version !== null) environment.versions[name] = version
  }

  type Entry = {
    target: WsTarget
    started: WsStartedTarget
    shared: unknown
    rounds: RoundResult[]
  }
  const entries: Entry[] = []
  try {
    for (const target of targets) {
      const started = await target.start()
      const entry: Entry = { target, started, shared: undefined, rounds: [] }
      entries.push(entry)
      entry.shared = await target.prepare?.(started, clients)
    }
    // A connection scenario measures the memory connections add to a process, so each round
    // starts the target afresh: in a process that already held (and freed) connections, the
    // heap it kept is reused and the growth reads as noise around zero. A fan-out keeps its
    // targets, after one unmeasured pass over each, as runBenchmark does: the first messages a
    // process sees pay for its JIT, which would land on whichever target round 1 measures first.
    const fresh = scenario.kind === 'connections'
    if (!fresh) for (const entry of entries) await measureRound(entry, 0)
    for (let round = 1; round <= rounds; round++) {
      for (const entry of roundOrder(entries, round)) {
        if (fresh && round > 1) {
          await entry.started.stop()
          entry.started = await entry.target.start()
          entry.shared = await entry.target.prepare?.(entry.started, clients)
        }
        const measured = await measureRound(entry, round)
        entry.rounds.push(measured)
        log(
          `${scenario.name} round ${round}/${rounds} ${entry.target.name.padEnd(18)} ` +
            `${Math.round(measured.requestsPerSecond).toLocaleString('en-US').padStart(9)} ${scenario.kind === 'fanout' ? 'deliveries' : 'connections'}/s  ` +
            `p99 ${formatDecimal(measured.latencyMs.p99)} ms  errors ${measured.errors}`
        )
      }
    }
  } finally {
    await Promise.allSettled(entries.map((entry) => entry.started.stop()))
  }

  async function measureRound(entry: Entry, round: number): Promise<RoundResult> {
    const { urls, pids } = entry.started
    const indices = Array.from({ length: clients }, (_, i) => i)
    const threads = new ClientThreads(workers, (w) => ({
      adapter: entry.target.adapter,
      urls,
      shared: entry.shared,
      clients: indices.filter((i) => i % workers === w),
      senders: indices.filter((i) => i % workers === w && i < senders),
      connectConcurrency: 64,
    }))
    try {
      await threads.ready()
      if (scenario.kind === 'connections') {
        // In two halves: the second half's growth is what a connection costs once the process
        // has warmed up (its JIT, its caches and their first growth land in the first half).
        const settledRss = async () => {
          await entry.started.collectGarbage?.()
          return rssOf(pids)
        }
        const rssStart = await settledRss()
        const cpuBeforeConnect = await cpuOf(pids)
        const generatorBeforeConnect = process.cpuUsage()
        const first = await threads.ask({ cmd: 'connect', part: 0, parts: 2 })
        await sleep(1)
        const rssHalf = await settledRss()
        const second = await threads.ask({ cmd: 'connect', part: 1, parts: 2 })
        const cpuTarget = (await cpuOf(pids)) - cpuBeforeConnect
        const generator = generatorCpuSeconds(generatorBeforeConnect)
        const connectSeconds = sum(
          [first, second].map((replies) => Math.max(...replies.map((r) => r.seconds as number)))
        )
        const handshakes = new LatencyRecorder()
        for (const reply of [...first, ...second])
          for (const ms of new Float64Array(reply.times as ArrayBuffer)) handshakes.record(ms)
        await threads.ask({ cmd: 'measure' })
        await sleep(durationSeconds)
        const held = await threads.ask({ cmd: 'report' })
        const rssBytes = await settledRss()
        const count = sum([...first, ...second].map((r) => r.connected as number))
        const secondHalf = sum(second.map((r) => r.connected as number))
        const p = handshakes.percentiles([50, 97.5, 99])
        return {
          round,
          durationSeconds: connectSeconds,
          requests: count,
          requestsPerSecond: connectSeconds > 0 ? count / connectSeconds : 0,
          latencyMs: { p50: p[50], p97_5: p[97.5], p99: p[99] },
          errors:
            sum(second.map((r) => r.errors as number)) + sum(held.map((r) => r.dropped as number)),
          statuses: {},
          unexpectedStatuses: {},
          cpuSeconds: { target: cpuTarget, generator },
          generatorSaturated: generator / connectSeconds >= GENERATOR_SATURATION * workers,
          rssBytes,
          extra: {
            rssStartBytes: rssStart,
            rssPerThousandBytes: secondHalf > 0 ? ((rssBytes - rssHalf) * 1000) / secondHalf : 0,
            rssPerThousandFromStartBytes: count > 0 ? ((rssBytes - rssStart) * 1000) / count : 0,
            heldSeconds: durationSeconds,
            stillConnected: sum(held.map((r) => r.connected as number)),
          },
        }
      }

      const connected = await threads.ask({ cmd: 'connect' })
      const connectErrors = sum(connected.map((r) => r.errors as number))
      const connectSeconds = Math.max(...connected.map((r) => r.seconds as number))

      const load = scenario.load ?? { mode: 'closed', window: 4 }
      await threads.ask({
        cmd: 'send',
        sending:
          load.mode === 'closed'
            ? { mode: 'closed', window: load.window }
            : { mode: 'open', ratePerSender: load.messagesPerSecond / Math.max(1, senders) },
      })
      await sleep(warmupSeconds)
      const cpuBefore = await cpuOf(pids)
      const generatorBefore = process.cpuUsage()
      const started = performance.now()
      await threads.ask({ cmd: 'measure' })
      await sleep(durationSeconds)
      const reports = await threads.ask({ cmd: 'report' })
      const elapsed = (performance.now() - started) / 1000
      const generator = generatorCpuSeconds(generatorBefore)
      const cpuTarget = (await cpuOf(pids)) - cpuBefore
      const rssBytes = await rssOf(pids)
      await threads.ask({ cmd: 'stop', quietMs: 300, timeoutMs: 10_000 })

      const latencies = new LatencyRecorder()
      for (const reply of reports)
        for (const ms of new Float64Array(reply.latencies as ArrayBuffer)) latencies.record(ms)
      const deliveries = sum(reports.map((r) => r.deliveries as number))
      const sent = sum(reports.map((r) => r.sent as number))
      const p = latencies.percentiles([50, 97.5, 99])
      return {
        round,
        durationSeconds: elapsed,
        requests: deliveries,
        requestsPerSecond: deliveries / elapsed,
        latencyMs: { p50: p[50], p97_5: p[97.5], p99: p[99] },
        errors:
          connectErrors + sum(reports.map((r) => (r.errors as number) + (r.dropped as number))),
        statuses: {},
        unexpectedStatuses: {},
        cpuSeconds: { target: cpuTarget, generator },
        generatorSaturated: generator / elapsed >= GENERATOR_SATURATION * workers,
        rssBytes,
        extra: { messagesSent: sent, clients, connectSeconds },
      }
    } finally {
      await threads.ask({ cmd: 'close' }).catch(() => undefined)
      await threads.close()
    }
  }

  const unit =
    scenario.kind === 'fanout'
      ? { one: 'delivery', many: 'deliveries' }
      : { one: 'connection', many: 'connections' }
  const wsVersion = (await packageVersion('ws', cwd)) ?? 'unknown'
  const result: BenchResult = {
    project,
    scenario: scenario.name,
    description: scenario.description,
    date,
    command,
    smoke,
    tool: `@kit/bench WebSocket driver (ws ${wsVersion}, ${workers} worker threads)`,
    unit,
    connections: clients,
    durationSeconds,
    pipelining: null,
    warmupSeconds: scenario.kind === 'fanout' ? warmupSeconds : null,
    orderRotated: entries.length > 1,
    rounds,
    expectedStatuses: [],
    ...environment,
    targets: summarizeTargets(
      entries.map(({ target, rounds }) => ({ name: target.name, kind: target.kind, rounds }))
    ),
    notes: [...notes],
  }
  if (smoke)
    result.notes.push('SMOKE run: checks the wiring only; these figures are not a measurement.')
  for (const target of result.targets) {
    if (target.errors > 0) {
      result.notes.push(
        `${target.name}: ${target.errors} client errors (failed handshakes or dropped connections).`
      )
    }
  }
  return result
}
