// One service instance for test/limiter-under-load.test.ts: the limiters exactly as main.ts
// builds them (createService: the Redis client, coalescing, the resilient wrapper with its outage
// policy and block cache), driven without HTTP so that the test measures decisions only. On each
// message it fires `count` concurrent consumes per algorithm at `fireAt`, then keeps its event
// loop busy for `busyMs`, as a process parsing a large body or collecting garbage does.
import { createLogger } from '@kit/http'
import { waitForRedis } from '@kit/redis'
import { loadConfig } from '../src/config.ts'
import type { Algorithm, Decision } from '../src/limiter/index.ts'
import { createService } from '../src/service.ts'

export type BusyBurstRequest = {
  /** Key per algorithm for this window. */
  keys: Partial<Record<Algorithm, string>>
  count: number
  /** Epoch ms at which to fire, so both processes hit Redis together. */
  fireAt: number
  busyMs: number
}
export type BusyBurstResult = {
  allowed: Partial<Record<Algorithm, number>>
  /** Where the decisions came from: 'store' unless the outage policy decided. */
  sources: Record<string, number>
  startedAt: number
  finishedAt: number
}

const config = loadConfig(process.env)
const service = createService(config, {
  logger: createLogger({ name: 'busy-burst-child', level: 'silent' }),
})
await waitForRedis(service.redis!, 10_000)
process.send?.('ready')

process.on('message', (request: BusyBurstRequest) => void burst(request))

async function burst({ keys, count, fireAt, busyMs }: BusyBurstRequest): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, fireAt - Date.now())))
  const startedAt = Date.now()
  const bursts = Object.entries(keys).map(([algorithm, key]) => {
    const [limiter] = service.limits.forAlgorithm[algorithm as Algorithm]
    return Promise.all(Array.from({ length: count }, () => limiter!.consume(key)))
  })
  // The busy part: nothing else runs on this event loop meanwhile, timers included.
  const busyUntil = performance.now() + busyMs
  while (performance.now() < busyUntil);
  const decided = await Promise.all(bursts)
  const finishedAt = Date.now()

  const result: BusyBurstResult = { allowed: {}, sources: {}, startedAt, finishedAt }
  Object.keys(keys).forEach((algorithm, i) => {
    const decisions = decided[i] as (Decision & { source?: string })[]
    result.allowed[algorithm as Algorithm] = decisions.filter((d) => d.allowed).length
    for (const { source = 'store' } of decisions) {
      result.sources[source] = (result.sources[source] ?? 0) + 1
    }
  })
  process.send?.(result)
}

process.on('disconnect', () => void service.close())
