import { requestMix } from '@kit/bench'
import type { BenchResult, RequestMix, Scenario, StartedTarget, TargetResult } from '@kit/bench'
import * as loadData from '@kit/loadtests/scenarios/url-shortener'
import { BENCH_API_KEY, getManaged, readDatabase, shortenerRunOf } from './shortener-target.ts'
import type { ShortenerRun } from './shortener-target.ts'

/** Every target draws the same sequence of link ranks, so each is sent the same request mix. */
const SEED = 20_261_121

/** The scenario parameters shared with k6 (loadtests/scenarios/url-shortener.js). */
export function loadScenario(name: string) {
  const data = loadData.scenarios[name]
  if (data === undefined)
    throw new Error(`loadtests/scenarios/url-shortener.js has no scenario "${name}"`)
  return data
}

/** A check failed after the run (clicks not counted, links missing): the result must not be saved. */
export class BenchVerificationError extends Error {
  constructor(readonly problems: string[]) {
    super(`refusing to report: ${problems.join('; ')}`)
    this.name = this.constructor.name
  }
}

/** Responses of `status` a target got in its measured rounds. */
function answered(target: TargetResult, status: number): number {
  return target.rounds.reduce((sum, round) => sum + (round.statuses[String(status)] ?? 0), 0)
}

function targetResult(result: BenchResult, name: string): TargetResult {
  const target = result.targets.find((t) => t.name === name)
  if (target === undefined) throw new Error(`no result for target ${name}`)
  return target
}

/** Sample requests runBenchmark verifies per target before measuring (passed to it by run.ts). */
export const CHECK_SAMPLES = 50

type RedirectTargetState = {
  codes: string[]
  /** The target's requests; `sent` counts every request built per code, sent or not. */
  requests?: RequestMix
}

/** GET /:code over links.count links with a Zipf popularity; verifies Location per code. */
export type RedirectScenario = Scenario & {
  /** Codes by popularity rank (0 = most clicked) of a started shortener. */
  codesOf(url: string): string[]
  /**
   * After the run: every 302 the generator received was counted (tracking on), or nothing was
   * (tracking off), read from the stopped instance's SQLite file and from its stats API.
   */
  verifyClicks(result: BenchResult, runs: ShortenerRun[], tracking: boolean): string[]
}

/**
 * The redirect scenarios. A shortener gets links.count links created through POST /api/links;
 * the bare baseline, which redirects any code to https://example.com/<code>, gets codes of the
 * same length. Both are sent the same Zipf sequence of ranks with a browser User-Agent.
 */
export function redirectScenario({
  name,
  description,
  data,
}: {
  name: string
  description: string
  data: ReturnType<typeof loadScenario>
}): RedirectScenario {
  const { request, node } = data
  if (request.kind !== 'redirect') throw new Error(`${name}: expected a redirect request`)
  const states = new Map<string, RedirectTargetState>()

  async function createLinks(target: StartedTarget): Promise<Map<string, string>> {
    const targets = new Map<string, string>()
    const urls = Array.from(
      { length: loadData.links.count },
      (_, i) => `${loadData.links.urlPrefix}${i}`
    )
    // Rank order = creation order, so rank 0 is the oldest link (ids do not favour any rank).
    const codes: string[] = []
    for (let i = 0; i < urls.length; i += 25) {
      const batch = await Promise.all(
        urls.slice(i, i + 25).map((url) => createLink(target.url, url))
      )
      for (const [offset, code] of batch.entries()) {
        codes[i + offset] = code
        targets.set(code, urls[i + offset] as string)
      }
    }
    states.set(target.url, { codes })
    return targets
  }

  return {
    name,
    description,
    connections: node.connections,
    durationSeconds: node.durationSeconds,
    pipelining: node.pipelining,
    async prepare(target) {
      const isShortener = shortenerRunOf(target) !== undefined
      const targets = isShortener ? await createLinks(target) : undefined
      if (!targets) {
        const codes = Array.from(
          { length: loadData.links.count },
          (_, i) => `bare${String(i).padStart(5, '0')}`
        )
        states.set(target.url, { codes })
      }
      const state = states.get(target.url) as RedirectTargetState
      // Declared, so that every generator (wrk's Lua script too) draws the same Zipf mix.
      state.requests = requestMix({
        path: request.path.replace(':code', '{pick}'),
        headers: request.headers,
        pick: { values: state.codes, distribution: { zipf: request.popularity.s } },
        seed: SEED,
      })
      return {
        requests: state.requests,
        async check(res, req) {
          if (res.status !== request.expectStatus)
            return `status ${res.status}, expected ${request.expectStatus}`
          const code = req.path.slice(1)
          const expected = targets ? targets.get(code) : `https://example.com/${code}`
          const location = res.headers.get('location')
          return location === expected ? null : `Location ${location}, expected ${expected}`
        },
      }
    },
    codesOf(url) {
      return states.get(url)?.codes ?? []
    },
    verifyClicks(result, runs, tracking) {
      const problems: string[] = []
      for (const run of runs) {
        const before = problems.length
        const state = states.get(run.url)
        if (!state) {
          problems.push(`${run.target}: never prepared`)
          continue
        }
        const rows = readDatabase(run.dbFile, (db) =>
          db
            .prepare(
              'SELECT l.code AS code, t.total AS total, t.bots AS bots FROM click_totals t JOIN links l ON l.id = t.link_id'
            )
            .all()
        ) as Array<{ code: string; total: number; bots: number }>
        const counted = rows.reduce((sum, row) => sum + row.total, 0)
        const built = state.requests?.sent ?? { total: 0, byPick: [] }
        const sentByCode = new Map(state.codes.map((code, i) => [code, built.byPick[i] ?? 0]))
        const sent = built.total
        // Every 302 received (measured rounds + checked samples) was counted; warm-ups add more.
        const lowerBound =
          answered(targetResult(result, run.target), request.expectStatus) + CHECK_SAMPLES
        if (!tracking) {
          if (counted !== 0)
            problems.push(`${run.target}: tracking is off but ${counted} clicks were stored`)
          else
            result.notes.push(
              `${run.target}: tracking off, verified after the run: no click stored.`
            )
          continue
        }
        if (counted < lowerBound || counted > sent) {
          problems.push(
            `${run.target}: ${counted} clicks stored, expected between ${lowerBound} (302s received) and ${sent} (requests built)`
          )
        }
        for (const row of rows) {
          const drawn = sentByCode.get(row.code) ?? 0
          if (row.total > drawn)
            problems.push(`${run.target}: /${row.code} counted ${row.total} clicks, sent ${drawn}`)
          if (row.bots !== 0)
            problems.push(
              `${run.target}: /${row.code} counted ${row.bots} bot clicks from a browser UA`
            )
        }
        const api = run.observed.topStats as Array<{ code: string; total: number }> | undefined
        for (const { code, total } of api ?? []) {
          const stored = rows.find((row) => row.code === code)?.total ?? 0
          // The stats API answered before the stop; the shutdown flush can only add clicks.
          if (!(total > 0 && total <= stored)) {
            problems.push(
              `${run.target}: stats API said ${total} clicks for /${code}, the database ${stored}`
            )
          }
        }
        if (api === undefined || api.length === 0)
          problems.push(`${run.target}: stats API not read`)
        if (problems.length === before) {
          result.notes.push(
            `${run.target}: clicks verified after the run: ${counted.toLocaleString('en-US')} stored ` +
              `(${lowerBound.toLocaleString('en-US')} 302s received in measured rounds and checks, ` +
              `${sent.toLocaleString('en-US')} requests built incl. warm-ups), none over its link's ` +
              `requests; the stats API agreed for the ${api?.length} most clicked links.`
          )
        }
      }
      return problems
    },
  }
}

/** Reads the stats of the `count` most popular links while the instance still serves. */
export async function readTopStats(started: StartedTarget, codes: string[], count = 3) {
  const stats = []
  for (const code of codes.slice(0, count)) {
    const res = await getManaged(`${started.url}/api/links/${code}/stats`)
    const body = (await res.json()) as { total: number }
    stats.push({ code, total: body.total })
  }
  return stats
}

async function createLink(base: string, url: string): Promise<string> {
  const res = await fetch(`${base}/api/links`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': BENCH_API_KEY },
    body: JSON.stringify({ url }),
  })
  const body = (await res.json()) as { code?: string }
  if (res.status !== 201 || typeof body.code !== 'string') {
    throw new Error(`POST /api/links answered ${res.status}: ${JSON.stringify(body)}`)
  }
  return body.code
}

/** POST /api/links with a unique URL per request; counts what was sent, per target. */
export type CreateScenario = Scenario & {
  /** After the run: every 201 received is a row of the stopped instance; code lengths. */
  verifyLinks(result: BenchResult, runs: ShortenerRun[]): string[]
}

export function createScenario({
  data,
}: {
  data: ReturnType<typeof loadScenario>
}): CreateScenario {
  const { request, node } = data
  if (request.kind !== 'create') throw new Error('create: expected a create request')
  /** Each target's requests, by URL: `sent.total` counts every request built for it. */
  const mixes = new Map<string, RequestMix>()

  return {
    name: 'create',
    description: `${data.description} One shortener per code strategy.`,
    connections: node.connections,
    durationSeconds: node.durationSeconds,
    pipelining: node.pipelining,
    async prepare(target) {
      const isShortener = shortenerRunOf(target) !== undefined
      // The scenario's body with `{unique}` left in: every generator numbers it per request.
      const requests = requestMix({
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: JSON.stringify(request.body),
      })
      mixes.set(target.url, requests)
      return {
        requests,
        async check(res, req) {
          if (res.status !== request.expectStatus)
            return `status ${res.status}, expected ${request.expectStatus}`
          const body = (await res.json()) as { code?: unknown; target?: unknown }
          if (typeof body.code !== 'string' || !/^[0-9A-Za-z]+$/.test(body.code)) {
            return `code ${JSON.stringify(body.code)} is not base62`
          }
          if (!isShortener) return null
          const { url } = JSON.parse(req.body ?? '{}') as { url: string }
          return body.target === url
            ? null
            : `target ${JSON.stringify(body.target)}, expected ${url}`
        },
      }
    },
    verifyLinks(result, runs) {
      const problems: string[] = []
      for (const run of runs) {
        const stored = readDatabase(
          run.dbFile,
          (db) =>
            db
              .prepare(
                'SELECT count(*) AS n, min(length(code)) AS shortest, max(length(code)) AS longest FROM links'
              )
              .get() as {
              n: number
              shortest: number | null
              longest: number | null
            }
        )
        const target = targetResult(result, run.target)
        const lowerBound = answered(target, request.expectStatus) + CHECK_SAMPLES
        const upperBound = mixes.get(run.url)?.sent.total ?? 0
        if (stored.n < lowerBound || stored.n > upperBound) {
          problems.push(
            `${run.target}: ${stored.n} links stored, expected between ${lowerBound} (201s received) and ${upperBound} (requests built)`
          )
          continue
        }
        const retries = run.observed.collisionRetries
        if (typeof retries !== 'number') {
          problems.push(
            `${run.target}: url_shortener_code_collision_retries_total not read from /metrics`
          )
          continue
        }
        const length =
          stored.shortest === stored.longest
            ? `${stored.shortest}`
            : `${stored.shortest}–${stored.longest}`
        const rate = target.requestsPerSecond
        result.notes.push(
          `${run.target}: ${Math.round(rate.median).toLocaleString('en-US')} links/s median ` +
            `(${Math.round(rate.min).toLocaleString('en-US')}–${Math.round(rate.max).toLocaleString('en-US')}), ` +
            `codes of ${length} characters, ${retries} collision retries over ${stored.n.toLocaleString('en-US')} links ` +
            `(every 201 verified as a stored row after the run).`
        )
      }
      return problems
    },
  }
}
