import { InvalidPolicyError, InvalidRequestError } from './errors.ts'
import type { Decision, Limiter, MultiLimiter } from './types.ts'

/**
 * Several limits on one request (say 10 per second AND 1,000 per hour), all of which must pass.
 * The limiters are asked in parallel; when any denies (or fails), the units taken by those that
 * allowed are refunded, so a denied request consumes nothing anywhere. Refunds are best effort:
 * a refund that fails leaves that limiter counting one extra request, which only errs strict.
 * @example
 * const limits = createMultiLimiter([perSecond, perHour])
 * const { allowed, mostRestrictive } = await limits.consume(apiKey)
 */
export function createMultiLimiter(limiters: readonly Limiter[]): MultiLimiter {
  if (limiters.length === 0) {
    throw new InvalidPolicyError([{ path: 'limiters', message: 'must hold at least one limiter' }])
  }
  const all = [...limiters]

  function keyAt(key: string | readonly string[], index: number): string {
    return typeof key === 'string' ? key : (key[index] as string)
  }

  function assertKeys(key: string | readonly string[]): void {
    if (typeof key !== 'string' && key.length !== all.length) {
      throw new InvalidRequestError(
        `expected ${all.length} keys, one per limiter, got ${key.length}`,
        {
          field: 'key',
        }
      )
    }
  }

  async function refundAllowed(
    key: string | readonly string[],
    cost: number,
    results: readonly PromiseSettledResult<Decision>[]
  ): Promise<void> {
    if (cost === 0) return
    await Promise.allSettled(
      results.flatMap((result, i) =>
        result.status === 'fulfilled' && result.value.allowed
          ? [(all[i] as Limiter).refund(keyAt(key, i), cost)]
          : []
      )
    )
  }

  return {
    limiters: all,

    async consume(key, cost = 1) {
      assertKeys(key)
      const results = await Promise.allSettled(all.map((l, i) => l.consume(keyAt(key, i), cost)))
      const failed = results.find((r) => r.status === 'rejected')
      if (failed) {
        await refundAllowed(key, cost, results)
        throw failed.reason
      }
      const decisions = results.map((r) => (r as PromiseFulfilledResult<Decision>).value)
      const allowed = decisions.every((d) => d.allowed)
      if (!allowed) await refundAllowed(key, cost, results)
      return { allowed, decisions, mostRestrictive: mostRestrictive(decisions) }
    },

    async refund(key, cost = 1) {
      assertKeys(key)
      await Promise.all(all.map((l, i) => l.refund(keyAt(key, i), cost)))
    },

    async reset(key) {
      assertKeys(key)
      await Promise.all(all.map((l, i) => l.reset(keyAt(key, i))))
    },
  }
}

/**
 * The decision a client should be shown: among denials the one that keeps it waiting longest;
 * when all allowed, the one with the least quota left (ties: the later reset).
 */
export function mostRestrictive(decisions: readonly Decision[]): Decision {
  let most = decisions[0] as Decision
  for (const d of decisions) {
    if (d.allowed !== most.allowed) {
      if (!d.allowed) most = d
    } else if (d.allowed) {
      if (
        d.remaining < most.remaining ||
        (d.remaining === most.remaining && d.resetMs > most.resetMs)
      ) {
        most = d
      }
    } else if (d.retryAfterMs > most.retryAfterMs) {
      most = d
    }
  }
  return most
}
