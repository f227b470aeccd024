import type { Check, CheckFunction, RequestSpec } from './types.ts'

/** One sample response that did not look like the scenario said it would. */
export type CheckMismatch = { target: string; request: string; problem: string }

/**
 * The benchmark refused to measure: a target answered a sample request wrongly, so its req/s
 * would describe some other behaviour (an error page is fast). `mismatches` lists them all.
 */
export class BenchCheckError extends Error {
  readonly mismatches: CheckMismatch[]
  constructor(mismatches: CheckMismatch[], samples: number) {
    const shown = mismatches
      .slice(0, 5)
      .map((m) => `  ${m.target}: ${m.request} → ${m.problem}`)
      .join('\n')
    super(
      `refusing to report: ${mismatches.length} of ${samples} sample responses failed the check\n${shown}`
    )
    this.name = this.constructor.name
    this.mismatches = mismatches
  }
}

function describe(spec: RequestSpec): string {
  return `${spec.method ?? 'GET'} ${spec.path}`
}

function matches(actual: string | null, expected: string | RegExp): boolean {
  if (actual === null) return false
  return typeof expected === 'string' ? actual === expected : expected.test(actual)
}

/** Applies a declarative `Check` to a response; returns the first problem or null. */
export async function verifyResponse(res: Response, check: Check): Promise<string | null> {
  const statuses = Array.isArray(check.status) ? check.status : [check.status]
  if (!statuses.includes(res.status)) {
    const body = (await res.text()).slice(0, 200)
    return `status ${res.status}, expected ${statuses.join(' or ')}${body ? ` (body: ${body})` : ''}`
  }
  for (const [name, expected] of Object.entries(check.header ?? {})) {
    const actual = res.headers.get(name)
    if (!matches(actual, expected))
      return `header ${name} is ${JSON.stringify(actual)}, expected ${expected}`
  }
  if (check.body !== undefined) {
    const body = await res.text()
    if (!matches(body, check.body))
      return `body ${JSON.stringify(body.slice(0, 200))} does not match ${check.body}`
  } else {
    await res.body?.cancel()
  }
  return null
}

/**
 * Sends `samples` requests from `next()` one by one and verifies each response. Returns the
 * mismatches and the statuses seen (for a check function, those become the expected statuses).
 */
export async function verifySamples(options: {
  target: string
  url: string
  next: () => RequestSpec
  check: Check | CheckFunction
  samples: number
}): Promise<{ mismatches: CheckMismatch[]; statuses: Set<number> }> {
  const { target, url, next, check, samples } = options
  const mismatches: CheckMismatch[] = []
  const statuses = new Set<number>()
  for (let i = 0; i < samples; i++) {
    const spec = next()
    let problem: string | null
    try {
      const res = await fetch(`${url}${spec.path}`, {
        method: spec.method ?? 'GET',
        headers: spec.headers,
        body: spec.body,
        // The benchmark measures the 3xx itself, never the page it points to.
        redirect: 'manual',
        signal: AbortSignal.timeout(5000),
      })
      statuses.add(res.status)
      problem =
        typeof check === 'function' ? await check(res, spec) : await verifyResponse(res, check)
      await res.body?.cancel().catch(() => {})
    } catch (error) {
      problem = `request failed: ${(error as Error).message}`
    }
    if (problem !== null) mismatches.push({ target, request: describe(spec), problem })
  }
  return { mismatches, statuses }
}
