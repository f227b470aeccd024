import { Hono } from 'hono'

/** A dependency check for /readyz. A critical one failing makes the service unavailable. */
export type HealthCheck = {
  name: string
  critical: boolean
  check: () => boolean | Promise<boolean>
}

export type HealthStatus = 'ready' | 'degraded' | 'unavailable' | 'draining'
export type HealthReport = { status: HealthStatus; checks: Record<string, 'up' | 'down'> }

/**
 * Liveness and readiness (Kubernetes probe semantics):
 * - GET /healthz → 200 {status:'ok'}; never touches a dependency, or a Redis blip would
 *   restart every pod.
 * - GET /readyz → runs every check in parallel, each bounded by `timeoutMs` (a check that
 *   throws or is late counts as down): 200 'ready'; 200 'degraded' when only non-critical
 *   checks fail; 503 'unavailable' when a critical one fails; 503 'draining' once
 *   `setDraining()` was called (shutdown began), so the load balancer stops sending traffic.
 *
 * @example
 * ```ts
 * const health = createHealth([
 *   { name: 'redis', critical: true, check: () => pingRedis(redis) },
 *   { name: 'cache', critical: false, check: () => pingRedis(cache) },
 * ])
 * app.route('/', health.routes)
 * ```
 */
export function createHealth(
  checks: HealthCheck[] = [],
  { timeoutMs = 250 }: { timeoutMs?: number } = {}
) {
  let draining = false

  async function report(): Promise<HealthReport> {
    const results = await Promise.all(checks.map((check) => runCheck(check, timeoutMs)))
    const status: HealthStatus = draining
      ? 'draining'
      : results.some((up, i) => !up && checks[i]!.critical)
        ? 'unavailable'
        : results.includes(false)
          ? 'degraded'
          : 'ready'
    const byName: Record<string, 'up' | 'down'> = {}
    checks.forEach((check, i) => (byName[check.name] = results[i] ? 'up' : 'down'))
    return { status, checks: byName }
  }

  const routes = new Hono()
  routes.get('/healthz', (c) => c.json({ status: 'ok' }))
  routes.get('/readyz', async (c) => {
    const body = await report()
    const ok = body.status === 'ready' || body.status === 'degraded'
    c.header('cache-control', 'no-store')
    return c.json(body, ok ? 200 : 503)
  })

  return {
    routes,
    setDraining() {
      draining = true
    },
    get draining() {
      return draining
    },
    report,
  }
}

export type Health = ReturnType<typeof createHealth>

async function runCheck({ check }: HealthCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, false)
  })
  try {
    // Promise.resolve().then(): a check that throws synchronously is also caught.
    return await Promise.race([
      Promise.resolve()
        .then(() => check())
        .then(Boolean),
      late,
    ])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
