/**
 * Prometheus metrics of the limiters, fed by their events. Labels are the policy name and the
 * backend only (both bounded by configuration): never a client key, which would make one series
 * per client.
 *
 * Counters, after Envoy's ratelimit service stats (`over_limit`, `near_limit` at 80 %,
 * `shadow_mode`, `failure_mode_allowed`):
 * - rate_limit_allowed_total, rate_limit_limited_total, rate_limit_near_limit_total,
 *   rate_limit_shadow_limited_total
 * - rate_limit_store_failures_total (each store error or timeout),
 *   rate_limit_failure_mode_allowed_total (admitted because the store failed open),
 *   rate_limit_failure_mode_denied_total (503 because the store failed closed),
 *   rate_limit_insurance_decisions_total, rate_limit_block_cache_hits_total
 * - rate_limit_concurrency_{acquired,rejected}_total, load_shedder_{admitted,shed}_total{priority}
 * Histogram rate_limit_decision_duration_seconds; gauges rate_limit_store_up,
 * load_shedder_in_flight.
 *
 * @example
 * const metrics = createRateLimitMetrics({ registry, backend: 'redis', storeUp: () => isRedisReady(redis) })
 * rateLimit({ ..., onEvent: metrics.recordRateLimit })
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { capacityOf, type LimiterEvent, type Policy } from './limiter/index.ts'
import type { ConcurrencyEvent } from './middleware/concurrency-limit.ts'
import type { LoadShedEvent } from './middleware/load-shed.ts'
import type { RateLimitEvent } from './middleware/rate-limit.ts'
import type { RateLimitDecision, RateLimitPolicy } from './middleware/types.ts'

/** Share of a policy's capacity used at which an allowed request counts as near the limit. */
export const NEAR_LIMIT_RATIO = 0.8

export type RateLimitMetrics = ReturnType<typeof createRateLimitMetrics>

export function createRateLimitMetrics({
  registry,
  backend,
  storeUp = () => true,
  loadShedderInFlight,
}: {
  registry: Registry
  backend: 'memory' | 'redis'
  /** Read at scrape time for rate_limit_store_up. */
  storeUp?: () => boolean
  loadShedderInFlight?: () => number
}) {
  const labelNames = ['policy', 'backend'] as const
  // Label children cached per policy: `labels()` hashes its arguments on every call.
  function perPolicy<C>(metric: { labels(labels: { policy: string; backend: string }): C }) {
    const children = new Map<string, C>()
    return (policy: string): C => {
      let child = children.get(policy)
      if (child === undefined) {
        child = metric.labels({ policy, backend })
        children.set(policy, child)
      }
      return child
    }
  }
  const counter = (name: string, help: string) =>
    perPolicy(new Counter({ name, help, labelNames, registers: [registry] }))

  const allowed = counter('rate_limit_allowed_total', 'Requests a policy admitted')
  const limited = counter('rate_limit_limited_total', 'Requests a policy refused (429)')
  const nearLimit = counter(
    'rate_limit_near_limit_total',
    `Admitted requests that left ${Math.round(NEAR_LIMIT_RATIO * 100)} % or more of the quota used`
  )
  const shadowLimited = counter(
    'rate_limit_shadow_limited_total',
    'Requests a policy would have refused, let through by shadow mode'
  )
  const storeFailures = counter(
    'rate_limit_store_failures_total',
    'Store calls that failed or timed out'
  )
  const failureModeAllowed = counter(
    'rate_limit_failure_mode_allowed_total',
    'Decisions admitted because the store failed and the policy is fail-open'
  )
  const failureModeDenied = counter(
    'rate_limit_failure_mode_denied_total',
    'Requests answered 503 because the store failed and the policy is fail-closed'
  )
  const insuranceDecisions = counter(
    'rate_limit_insurance_decisions_total',
    'Decisions made by the in-process insurance limiter while the store was down'
  )
  const blockCacheHits = counter(
    'rate_limit_block_cache_hits_total',
    'Refusals answered from the in-memory block cache, without a store round trip'
  )
  const concurrencyAcquired = counter('rate_limit_concurrency_acquired_total', 'Slots taken')
  const concurrencyRejected = counter(
    'rate_limit_concurrency_rejected_total',
    'Requests refused because every concurrent-request slot was taken'
  )
  const duration = perPolicy(
    new Histogram({
      name: 'rate_limit_decision_duration_seconds',
      help: 'Time to decide one request, all of its policies together',
      labelNames,
      // Memory decisions take microseconds, Redis ones about a round trip; the timeout caps them.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    })
  )
  new Gauge({
    name: 'rate_limit_store_up',
    help: '1 when the rate limit store answers, 0 during an outage',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.set({ backend }, storeUp() ? 1 : 0)
    },
  })
  const shedderLabels = ['priority'] as const
  const shedAdmitted = new Counter({
    name: 'load_shedder_admitted_total',
    help: 'Requests the load shedder admitted',
    labelNames: shedderLabels,
    registers: [registry],
  })
  const shed = new Counter({
    name: 'load_shedder_shed_total',
    help: 'Requests the load shedder refused (503)',
    labelNames: shedderLabels,
    registers: [registry],
  })
  if (loadShedderInFlight !== undefined) {
    new Gauge({
      name: 'load_shedder_in_flight',
      help: 'Requests in flight through the load shedder',
      registers: [registry],
      collect() {
        this.set(loadShedderInFlight())
      },
    })
  }

  /** One label for a request's policies: `api`, or `burst+minute` when several applied. */
  function policyLabel(policies: readonly RateLimitPolicy[]): string {
    return policies.length === 1
      ? (policies[0] as RateLimitPolicy).name
      : policies.map((policy) => policy.name).join('+')
  }

  function recordDecision(decision: RateLimitDecision, admitted: boolean, shadowed: boolean): void {
    const policy = decision.policy.name
    if (decision.source === 'fail-open') failureModeAllowed(policy).inc()
    if (!decision.allowed) {
      if (shadowed) shadowLimited(policy).inc()
      else limited(policy).inc()
      return
    }
    if (!admitted) return // allowed by this policy, refused by another: not counted as allowed
    allowed(policy).inc()
    // The service's limiters are the kit's (src/limits.ts): their policies carry the algorithm.
    const capacity = capacityOf(decision.policy as Policy)
    if (capacity - decision.remaining >= NEAR_LIMIT_RATIO * capacity) nearLimit(policy).inc()
  }

  return {
    /** Wire to rateLimit({ onEvent }). */
    recordRateLimit: (event: RateLimitEvent): void => {
      if (event.type === 'decision') {
        const admitted = event.allowed || event.shadowed
        for (const decision of event.decisions) recordDecision(decision, admitted, event.shadowed)
        duration(policyLabel(event.decisions.map((d) => d.policy))).observe(event.durationMs / 1000)
      } else if (event.type === 'store-unavailable') {
        // A decision that failed closed took time too: the latency histogram shows the timeout.
        duration(policyLabel(event.policies)).observe(event.durationMs / 1000)
        if (!event.shadowed) {
          for (const policy of event.policies) failureModeDenied(policy.name).inc()
        }
      }
    },
    /** Wire to createResilientLimiter({ onEvent }). */
    recordLimiter: (event: LimiterEvent): void => {
      if (event.type === 'store-failure') storeFailures(event.policy.name).inc()
      else if (event.type === 'insurance') insuranceDecisions(event.decision.policy.name).inc()
      else if (event.type === 'block-cache-hit') blockCacheHits(event.decision.policy.name).inc()
    },
    /** Wire to concurrencyLimit({ onEvent }). */
    recordConcurrency: (event: ConcurrencyEvent): void => {
      if (event.type === 'acquired') concurrencyAcquired(event.name).inc()
      else if (event.type === 'rejected') concurrencyRejected(event.name).inc()
      else if (event.type === 'store-failure') storeFailures(event.name).inc()
    },
    /** Wire to loadShed({ onEvent }). */
    recordLoadShed: (event: LoadShedEvent): void => {
      const counter = event.type === 'shed' ? shed : shedAdmitted
      counter.labels({ priority: event.priority }).inc()
    },
  }
}
