import type { RequestSpec } from './types.ts'
import { createZipf, seededRandom } from './zipf.ts'

/** How `{pick}` draws from its values. */
export type PickDistribution =
  /** Rank k (0 = first value) with probability ∝ 1 / (k + 1)^s: heavy-tailed, like real traffic. */
  | { zipf: number }
  /** Every value alike. */
  | 'uniform'
  /** The values in order, round and round (each wrk thread from its own offset). */
  | 'cycle'

/**
 * The requests of a scenario, declared so that every load generator can produce them: autocannon
 * in this process, and wrk through a generated Lua script. Strings may hold two placeholders:
 * `{pick}`, a value drawn from `pick`, and `{unique}`, a decimal integer never sent twice to the
 * same target (over every round and generator).
 */
export type RequestTemplate = {
  /** Default GET. */
  method?: string
  /** e.g. '/{pick}' or '/api/links' */
  path: string
  headers?: Record<string, string>
  /** e.g. '{"url":"https://example.com/created/{unique}"}' (send its content-type header too) */
  body?: string
  /** The values `{pick}` stands for, by popularity rank (index 0 is the most popular for Zipf). */
  pick?: { values: readonly string[]; distribution: PickDistribution }
  /** Seed of the draws in this process, so every target is sent the same sequence (default 1). */
  seed?: number
}

/** What a target was sent: every request built for it, by any generator (warm-ups included). */
export type SentCounts = {
  total: number
  /** Requests per `pick` value, by index; empty without `pick`. */
  byPick: readonly number[]
}

/** What a generator running outside this process reports back to the mix after a run. */
export type ExternalDraws = {
  total: number
  byPick: readonly number[]
  /** The next `{unique}` value nothing has used yet. */
  nextUnique: number
}

/**
 * A declared request mix, bound to one target: `next()` draws a request here (autocannon, the
 * check samples), wrk draws the same template in Lua, and `sent` counts both.
 */
export type RequestMix = {
  readonly template: RequestTemplate
  /** The next request, drawn in this process. */
  next(): RequestSpec
  /** Every request built so far for this target. */
  readonly sent: SentCounts
  /** The next `{unique}` value (starts at 1). */
  readonly nextUnique: number
  /** Adds what an external generator (wrk) built; it used `{unique}` values below `nextUnique`. */
  record(draws: ExternalDraws): void
}

const PLACEHOLDER = /\{(pick|unique)\}/g

/** The placeholders a template uses, anywhere in it. */
export function placeholdersOf(template: RequestTemplate): { pick: boolean; unique: boolean } {
  const strings = [
    template.path,
    template.body ?? '',
    ...Object.entries(template.headers ?? {}).flat(),
  ]
  const used = new Set(strings.flatMap((s) => [...s.matchAll(PLACEHOLDER)].map((m) => m[1])))
  return { pick: used.has('pick'), unique: used.has('unique') }
}

/** Throws when the template cannot be sent as declared. */
export function validateTemplate(template: RequestTemplate): void {
  const used = placeholdersOf(template)
  if (used.pick && (template.pick === undefined || template.pick.values.length === 0)) {
    throw new RangeError('request template uses {pick} but gives no pick.values')
  }
  if (!template.path.startsWith('/'))
    throw new RangeError(`path must start with /, got ${template.path}`)
  const distribution = template.pick?.distribution
  if (typeof distribution === 'object' && !(distribution.zipf > 0)) {
    throw new RangeError(`zipf exponent must be > 0, got ${distribution.zipf}`)
  }
  for (const name of Object.keys(template.headers ?? {})) {
    if (PLACEHOLDER.test(name)) throw new RangeError(`a header name cannot hold a placeholder`)
    PLACEHOLDER.lastIndex = 0
  }
}

/**
 * Binds a request template to one target (call it in `prepare()`, once per target): the object
 * draws and counts that target's requests.
 *
 * @example
 * ```ts
 * async prepare(target) {
 *   const codes = await createLinks(target)
 *   const requests = requestMix({
 *     path: '/{pick}',
 *     headers: { 'user-agent': 'Mozilla/5.0 …' },
 *     pick: { values: codes, distribution: { zipf: 1.1 } },
 *   })
 *   return { requests, check: { status: 302 } }
 *   // after the run: requests.sent.byPick[i] requests went to codes[i]
 * }
 * ```
 */
export function requestMix(template: RequestTemplate): RequestMix {
  validateTemplate(template)
  const values = template.pick?.values ?? []
  const byPick = new Array<number>(values.length).fill(0)
  let total = 0
  let nextUnique = 1
  const random = seededRandom(template.seed ?? 1)
  const distribution = template.pick?.distribution
  let cursor = -1
  const draw: () => number =
    values.length === 0
      ? () => -1
      : distribution === 'cycle'
        ? () => (cursor = (cursor + 1) % values.length)
        : distribution === 'uniform'
          ? () => Math.floor(random() * values.length)
          : createZipf(values.length, (distribution as { zipf: number }).zipf, random)
  const { pick: usesPick, unique: usesUnique } = placeholdersOf(template)

  return {
    template,
    get sent() {
      return { total, byPick }
    },
    get nextUnique() {
      return nextUnique
    },
    next() {
      const index = usesPick ? draw() : -1
      const unique = usesUnique ? String(nextUnique++) : ''
      total++
      if (index >= 0) byPick[index]! += 1
      const fill = (s: string) =>
        s.replace(PLACEHOLDER, (_, name: string) => (name === 'pick' ? values[index]! : unique))
      return {
        method: template.method ?? 'GET',
        path: fill(template.path),
        ...(template.headers && {
          headers: Object.fromEntries(
            Object.entries(template.headers).map(([name, value]) => [name, fill(value)])
          ),
        }),
        ...(template.body !== undefined && { body: fill(template.body) }),
      }
    },
    record(draws) {
      total += draws.total
      draws.byPick.forEach((count, i) => {
        if (i < byPick.length) byPick[i]! += count
      })
      nextUnique = Math.max(nextUnique, draws.nextUnique)
    },
  }
}
