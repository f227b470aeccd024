import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Decision, Policy, ResilientDecision } from './limiter/index.ts'
import { createRateLimitMetrics } from './metrics.ts'

const policy: Policy = { name: 'api', algorithm: 'fixed-window', limit: 10, windowMs: 1000 }
const decision = (remaining: number, allowed = true): Decision => ({
  allowed,
  policy,
  remaining,
  resetMs: 500,
  retryAfterMs: allowed ? 0 : 500,
})

async function valueOf(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const match = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([key, value]) => v.labels[key] === value)
  )
  return match?.value
}

describe('createRateLimitMetrics', () => {
  it('when decisions are recorded, counts allowed, near-limit (>= 80 % used) and limited', async () => {
    const registry = new Registry()
    const metrics = createRateLimitMetrics({ registry, backend: 'memory' })
    const record = (d: Decision) =>
      metrics.recordRateLimit({
        type: 'decision',
        decisions: [d],
        allowed: d.allowed,
        shadowed: false,
        cost: 1,
        durationMs: 0.2,
      })

    record(decision(5))
    record(decision(2))
    record(decision(0, false))

    const labels = { policy: 'api', backend: 'memory' }
    expect(await valueOf(registry, 'rate_limit_allowed_total', labels)).toBe(2)
    expect(await valueOf(registry, 'rate_limit_near_limit_total', labels)).toBe(1)
    expect(await valueOf(registry, 'rate_limit_limited_total', labels)).toBe(1)
  })

  it('when shadow mode lets a denial through, counts it as shadow-limited, not limited', async () => {
    const registry = new Registry()
    const metrics = createRateLimitMetrics({ registry, backend: 'redis' })

    metrics.recordRateLimit({
      type: 'decision',
      decisions: [decision(0, false)],
      allowed: false,
      shadowed: true,
      cost: 1,
      durationMs: 1,
    })

    const labels = { policy: 'api', backend: 'redis' }
    expect(await valueOf(registry, 'rate_limit_shadow_limited_total', labels)).toBe(1)
    expect(await valueOf(registry, 'rate_limit_limited_total', labels)).toBeUndefined()
  })

  it('when the store fails, counts failures, fail-open admissions and insurance decisions', async () => {
    const registry = new Registry()
    let up = true
    const metrics = createRateLimitMetrics({ registry, backend: 'redis', storeUp: () => up })
    const failOpen: ResilientDecision = { ...decision(9), source: 'fail-open' }
    const insured: ResilientDecision = { ...decision(9), source: 'insurance' }

    up = false
    metrics.recordLimiter({ type: 'store-failure', key: 'k', policy, error: new Error('down') })
    metrics.recordLimiter({ type: 'insurance', key: 'k', decision: insured })
    metrics.recordRateLimit({
      type: 'decision',
      decisions: [failOpen],
      allowed: true,
      shadowed: false,
      cost: 1,
      durationMs: 100,
    })

    const labels = { policy: 'api', backend: 'redis' }
    expect(await valueOf(registry, 'rate_limit_store_failures_total', labels)).toBe(1)
    expect(await valueOf(registry, 'rate_limit_insurance_decisions_total', labels)).toBe(1)
    expect(await valueOf(registry, 'rate_limit_failure_mode_allowed_total', labels)).toBe(1)
    expect(await valueOf(registry, 'rate_limit_store_up', { backend: 'redis' })).toBe(0)
  })
})
