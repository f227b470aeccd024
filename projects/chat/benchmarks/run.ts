/**
 * The chat's benchmark: every scenario of loadtests/scenarios/chat.js (or those named in
 * SCENARIOS), each against the chat (dist/main.js), the raw `ws` naive broadcast (the stack's
 * floor, the baseline) and Socket.IO (the peer), interleaved round by round, through
 * @kit/bench's WebSocket driver; results and REPORT.md land in benchmarks/.
 *
 *   pnpm --filter @kit/chat bench                     # every scenario, 5 rounds each
 *   pnpm --filter @kit/chat bench --smoke             # wiring check: 1 round, 1/10 of the clients, 1 s
 *   SCENARIOS=latency-50k,fanout-saturation pnpm --filter @kit/chat bench
 */
import { fileURLToPath } from 'node:url'
import {
  median,
  pairedRatio,
  runWsBenchmark,
  saveResult,
  type BenchResult,
  type WsScenario,
} from '@kit/bench'
import { scenarios } from '@kit/loadtests/scenarios/chat'
import { targetNotes } from './target-notes.ts'
import { wsTarget } from './targets.ts'

const smoke = process.argv.includes('--smoke')
const only = process.env.SCENARIOS?.split(',').filter(Boolean)
const rounds = Number(process.env.ROUNDS ?? (smoke ? 1 : 5))
const workers = Number(process.env.BENCH_WS_WORKERS ?? 2)
const benchmarksDir = fileURLToPath(new URL('.', import.meta.url))

for (const [name, data] of Object.entries(scenarios)) {
  if (only && !only.includes(name)) continue
  const scenario: WsScenario = {
    name,
    description: data.description,
    kind: data.kind,
    clients: data.clients,
    senders: data.senders,
    ...(data.load && { load: data.load }),
    durationSeconds: data.durationSeconds,
    warmupSeconds: data.warmupSeconds,
  }
  const common = {
    instances: data.instances,
    users: data.users,
    inspect: data.kind === 'connections',
  }
  const suffix = data.instances > 1 ? ` ×${data.instances} + Redis` : ''
  const result = await runWsBenchmark({
    project: 'chat',
    scenario,
    targets: [
      wsTarget({ name: `chat${suffix}`, kind: 'subject', flavour: 'chat', ...common }),
      wsTarget({ name: `raw ws naive${suffix}`, kind: 'baseline', flavour: 'raw-ws', ...common }),
      wsTarget({ name: `Socket.IO${suffix}`, kind: 'peer', flavour: 'socket-io', ...common }),
    ],
    rounds,
    smoke,
    workers,
    versions: ['ws', 'socket.io', '@socket.io/redis-adapter'],
    command: `${only ? `SCENARIOS=${only.join(',')} ` : ''}pnpm --filter @kit/chat bench${smoke ? ' --smoke' : ''}`,
    notes:
      data.kind === 'connections'
        ? [
            'Each round starts every target afresh, connects half the clients, then the other half, holds them, then closes them. RSS (of every process of the target) is read after a full garbage collection (HeapProfiler.collectGarbage through the inspector, which these runs turn on): the memory connections hold, not the garbage their handshakes left.',
          ]
        : [
            "Deliveries are message copies received by the clients; latency is from the sender's clock to the receiver's (one monotonic clock, the same process).",
          ],
  })
  if (data.kind === 'connections') result.notes.push(...memoryNotes(result))
  // The verdicts are read from the figures; a fault in them must not cost the run its result.
  try {
    result.notes.push(...targetNotes(name, result))
  } catch (error) {
    result.notes.push(`Target verdicts could not be computed: ${String(error)}`)
  }
  await saveResult(benchmarksDir, result)
}

/**
 * The memory each 1,000 connections hold, per target (from the second half of each round's
 * connections, after a full GC), with its paired ratio to every other target: the figure the
 * RSS column cannot show.
 */
function memoryNotes(result: BenchResult): string[] {
  const perThousand = (name: string) =>
    result.targets
      .find((t) => t.name === name)!
      .rounds.map((r) => r.extra?.rssPerThousandBytes ?? 0)
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  return result.targets.map((target) => {
    const own = perThousand(target.name)
    const others = result.targets
      .filter((other) => other !== target)
      .map((other) => {
        const ratio = pairedRatio(own, perThousand(other.name))
        return ratio
          ? `${ratio.median.toFixed(2)}× ${other.name} (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`
          : `n/a against ${other.name}`
      })
    return `${target.name}: RSS per 1,000 connections held ${mib(median(own))} (rounds ${own.map(mib).join(', ')}); ${others.join(', ')}.`
  })
}
