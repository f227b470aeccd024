/**
 * What a correct response of each target looks like. runBenchmark verifies sample responses with
 * these before measuring and refuses to report on any mismatch; during the run every status
 * other than the one these saw counts as an error (and run.ts refuses to save such a run).
 */
import type { CheckFunction } from '@kit/bench'
import { parseRateLimit, parseRateLimitPolicy } from '../src/middleware/ratelimit-header-parser.ts'
import { PROBLEM_CONTENT_TYPE } from '../src/middleware/problem-details.ts'

/** The policy a limited target announces. */
export type AnnouncedPolicy = { name: string; limit: number; windowMs: number }

/** The RateLimit-Policy field must announce exactly this policy; returns what is wrong. */
function policyProblem(res: Response, policy: AnnouncedPolicy): string | null {
  const field = res.headers.get('ratelimit-policy')
  const [announced, ...others] = parseRateLimitPolicy(field)
  if (
    announced === undefined ||
    others.length > 0 ||
    announced.name !== policy.name ||
    announced.quota !== policy.limit ||
    announced.windowSeconds !== policy.windowMs / 1000
  ) {
    return `RateLimit-Policy is ${JSON.stringify(field)}, expected "${policy.name}";q=${policy.limit};w=${policy.windowMs / 1000}`
  }
  return null
}

/**
 * Every request passes: 200 'ok'; a limited target also sends the policy and a RateLimit field
 * for it (draft-11 syntax, read with the project's client-side parser).
 */
export function passCheck(policy: AnnouncedPolicy | undefined): CheckFunction {
  return async function passes(res) {
    const body = await res.text()
    if (res.status !== 200 || body !== 'ok') {
      return `status ${res.status} with body ${JSON.stringify(body.slice(0, 120))}, expected 200 'ok'`
    }
    if (policy === undefined) return null
    const field = res.headers.get('ratelimit')
    const [limit] = parseRateLimit(field)
    if (limit === undefined || limit.name !== policy.name || limit.resetSeconds === undefined) {
      return `RateLimit is ${JSON.stringify(field)}, expected "${policy.name}";r=<n>;t=<n>`
    }
    return policyProblem(res, policy)
  }
}

/**
 * Every request is refused: 429, `Retry-After` a whole number of seconds >= 1, `RateLimit` with
 * r=0 and a `t` equal to Retry-After (the draft: Retry-After never points earlier than the
 * effective window), the policy, and an RFC 9457 problem naming the violated policy.
 */
export function rejectedCheck(policy: AnnouncedPolicy): CheckFunction {
  return async function refuses(res) {
    const body = await res.text()
    if (res.status !== 429) return `status ${res.status}, expected 429`
    const retryAfter = res.headers.get('retry-after')
    if (retryAfter === null || !/^[1-9]\d*$/.test(retryAfter)) {
      return `Retry-After is ${JSON.stringify(retryAfter)}, expected an integer >= 1`
    }
    const field = res.headers.get('ratelimit')
    const [limit] = parseRateLimit(field)
    if (
      limit === undefined ||
      limit.name !== policy.name ||
      limit.remaining !== 0 ||
      limit.resetSeconds !== Number(retryAfter)
    ) {
      return `RateLimit is ${JSON.stringify(field)}, expected "${policy.name}";r=0;t=${retryAfter}`
    }
    const contentType = res.headers.get('content-type')
    if (contentType !== PROBLEM_CONTENT_TYPE) {
      return `content-type is ${JSON.stringify(contentType)}, expected ${PROBLEM_CONTENT_TYPE}`
    }
    let problem: { status?: unknown; 'violated-policies'?: unknown }
    try {
      problem = JSON.parse(body) as typeof problem
    } catch {
      return `body is not JSON: ${JSON.stringify(body.slice(0, 120))}`
    }
    const violated = problem['violated-policies']
    if (problem.status !== 429 || !Array.isArray(violated) || !violated.includes(policy.name)) {
      return `problem body ${body.slice(0, 200)} does not report status 429 and "${policy.name}"`
    }
    return policyProblem(res, policy)
  }
}
