/**
 * The service's configuration: one zod schema of environment variables (SCREAMING_SNAKE, as the
 * environment spells them) plus a policy document (JSON in `POLICIES` or in the file
 * `POLICIES_FILE`), parsed once at start-up by `@kit/config`'s `parseEnv`. Every bad key is
 * reported in one ConfigError, each named by its variable (`PORT`) or document path
 * (`POLICIES.policies.api.limit`), so a deploy fails once with the whole list.
 *
 * The defaults give the embedded mode: no REDIS_URL means in-memory limiters.
 *
 * @example
 * const config = loadConfig(process.env) // throws ConfigError naming every bad key
 * config.PORT // 3001
 * config.POLICIES.routes.search.policies // ['search-burst', 'search-minute']
 */
import { readFileSync } from 'node:fs'
import { parseEnv, type ConfigIssue } from '@kit/config'
import { z } from 'zod'
import {
  InvalidTrustProxyError,
  parseTrustedRanges,
  type TrustProxy,
} from './client-identity/client-key.ts'
import { ALGORITHMS, capacityOf, type Algorithm, type Policy } from './limiter/index.ts'

/** The demo's routes that take policies (see app.ts for the paths). */
export const ROUTE_IDS = [
  'resource',
  'reports',
  'search',
  'uploads',
  'priority',
  'decisions',
] as const
export type RouteId = (typeof ROUTE_IDS)[number]

export type RouteConfig = {
  /** Policies applied together (all must pass); empty for none. */
  policies: string[]
  /** Units one request costs. */
  cost: number
  /** Policies used instead when the caller's API key belongs to a tier. */
  tiers: Record<string, string[]>
  /** Most requests of one client in flight at once (Stripe's concurrent-requests limiter). */
  concurrency?: number
}

/** The policy document, merged over the defaults and checked. */
export type Policies = {
  /** By name; every route's policies exist here. */
  policies: Record<string, Policy>
  routes: Record<RouteId, RouteConfig>
  /** The per-algorithm benchmark routes: one policy per algorithm with these numbers. */
  algorithms: { limit: number; windowMs: number; burst?: number }
  /** Raw API key → tier name. Only these keys get their own quota (see app.ts). */
  apiKeys: Record<string, string>
}

const flag = z.stringbool()
const positiveInt = z.coerce.number().int().positive()

/** A TCP port, 1-65535; the message names the value given. */
const port = z.string().transform((text, ctx) => {
  const value = Number(text.trim())
  if (/^\d+$/.test(text.trim()) && value >= 1 && value <= 65_535) return value
  ctx.addIssue({ code: 'custom', message: `${text} is not a port: use 1-65535` })
  return z.NEVER
})

/** `redis://[user:password@]host[:port][/db]` or `rediss://`: a host, and a port in range. */
const redisUrl = z.string().superRefine((text, ctx) => {
  const match = /^(rediss?):\/\/(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(text)
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message })
  if (match === null) return fail('must be a redis:// or rediss:// URL')
  const [, , host, portText] = match
  if (host === '') return fail('names no host: use redis://<host>:<port>')
  if (portText !== undefined) {
    const value = Number(portText)
    if (!/^\d+$/.test(portText) || value < 1 || value > 65_535) {
      return fail(`port ${portText} is not in 1-65535`)
    }
  }
  if (!URL.canParse(text)) fail('is not a valid URL')
})

/** `0`/`false` (no proxy), a hop count, or a comma-separated list of CIDRs and named sets. */
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const text = value.trim()
  if (text === 'false' || text === '') return 0
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (hops <= 100) return hops
    ctx.addIssue({ code: 'custom', message: 'a hop count must be at most 100' })
    return z.NEVER
  }
  const entries = text.split(',').map((entry) => entry.trim())
  try {
    parseTrustedRanges(entries)
    return entries
  } catch (error) {
    if (!(error instanceof InvalidTrustProxyError)) throw error
    ctx.addIssue({ code: 'custom', message: error.message })
    return z.NEVER
  }
})

const envSchema = z.object({
  PORT: port.default(3001),
  // Loopback by default: a dev run must not listen on every interface (Docker sets 0.0.0.0).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Set: limits shared in Redis. Unset: every limiter in memory (one process's view). */
  REDIS_URL: redisUrl.optional(),
  /** Algorithm of the policies that name none. */
  ALGORITHM: z.enum(ALGORITHMS).default('sliding-window'),
  /** The policy document, inline; read and checked by loadConfig. */
  POLICIES: z.string().optional(),
  /** The policy document, as a file; read and checked by loadConfig. */
  POLICIES_FILE: z.string().optional(),
  TRUST_PROXY: trustProxy.default(0),
  IPV6_PREFIX: z.coerce.number().int().min(1).max(128).default(64),
  STORE_FAILURE: z.enum(['fail-open', 'fail-closed', 'insurance']).default('insurance'),
  /** How long Redis may stay silent (to a call, then to a ping) before it counts as down. */
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(50).max(10_000).default(500),
  SHADOW_MODE: flag.default(false),
  BLOCK_CACHE: flag.default(true),
  /** Redis: concurrent consumes of one key in one event-loop turn share one script call. */
  COALESCE: flag.default(true),
  LEGACY_HEADERS: flag.default(false),
  /** Up to this many seconds added at random to a refusal's `t` and Retry-After. */
  RETRY_JITTER_SECONDS: z.coerce.number().int().min(0).max(3600).default(0),
  RATELIMIT_FIELD: z.enum(['all', 'most-restrictive']).default('all'),
  /** Most keys each in-memory limiter holds (memory backend and insurance); LRU past it. */
  MEMORY_MAX_KEYS: positiveInt.max(100_000_000).default(50_000),
  LOAD_SHED_CAPACITY: positiveInt.max(1_000_000).default(100),
  LOAD_SHED_RESERVED_SHARE: z.coerce.number().min(0).lt(1).default(0.2),
  CONCURRENCY_LEASE_MS: positiveInt.max(3_600_000).default(60_000),
  KEY_PREFIX: z.string().min(1).max(64).default('rate-limiter:'),
  API_KEY_SECRET: z.string().min(16).optional(),
})

export type Config = Omit<z.output<typeof envSchema>, 'POLICIES' | 'POLICIES_FILE'> & {
  /** The policy document (POLICIES or POLICIES_FILE) merged over the defaults. */
  POLICIES: Policies
}

// Policy names travel in Structured Field Strings and metric labels: keep them plain.
const POLICY_NAME = /^[A-Za-z0-9_.:-]{1,64}$/
const POLICY_NAME_RULE = 'must be 1-64 characters of A-Z a-z 0-9 _ . : -'
const policyName = z.string().regex(POLICY_NAME, POLICY_NAME_RULE)
const TIER_NAME_RULE = 'must be 1-64 characters of A-Z a-z 0-9 _ . : -'
const tierName = z.string().regex(POLICY_NAME, TIER_NAME_RULE)
const API_KEY_RULE = 'must be 8-512 characters'
const apiKey = z.string().min(8, API_KEY_RULE).max(512, API_KEY_RULE)

const policySchema = z.strictObject({
  algorithm: z.enum(ALGORITHMS).optional(),
  limit: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  burst: z.number().int().positive().optional(),
})

const routeSchema = z
  .strictObject({
    policies: z.array(policyName),
    cost: z.number().int().min(0),
    tiers: z.record(tierName, z.array(policyName)),
    concurrency: z.number().int().positive(),
  })
  .partial()

const algorithmsSchema = policySchema.omit({ algorithm: true }).partial()

type PolicyInput = z.infer<typeof policySchema>
type RouteInput = z.infer<typeof routeSchema>

/** The embedded defaults; a policy document is merged over them (policy by policy, route by route). */
export const DEFAULT_POLICY_DOCUMENT: {
  policies: Record<string, PolicyInput>
  routes: Record<RouteId, RouteInput & { policies: string[] }> & {
    algorithms: Policies['algorithms']
  }
  apiKeys: Record<string, string>
} = {
  policies: {
    default: { limit: 100, windowMs: 60_000 },
    pro: { limit: 1000, windowMs: 60_000 },
    reports: { limit: 20, windowMs: 60_000 },
    'search-burst': { algorithm: 'token-bucket', limit: 5, windowMs: 1000, burst: 10 },
    'search-minute': { limit: 100, windowMs: 60_000 },
    uploads: { limit: 30, windowMs: 60_000 },
    decisions: { limit: 1000, windowMs: 60_000 },
  },
  routes: {
    resource: { policies: ['default'], tiers: { pro: ['pro'] } },
    reports: { policies: ['reports'], cost: 5 },
    search: { policies: ['search-burst', 'search-minute'] },
    uploads: { policies: ['uploads'], concurrency: 2 },
    priority: { policies: [] },
    decisions: { policies: ['decisions'] },
    algorithms: { limit: 100, windowMs: 1000 },
  },
  apiKeys: {},
}

/**
 * Parses and checks the environment and the policy document. Throws `@kit/config`'s ConfigError
 * listing every issue (`issues: { key, message }[]`), each named by its variable or document path.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  let policies: Policies | undefined
  const parsed = parseEnv(envSchema, env, {
    // Read even when a variable is bad, so one run names every problem.
    check(present, issues, valid) {
      const algorithm = valid?.ALGORITHM ?? defaultAlgorithm(present.ALGORITHM)
      policies = readPolicies(present, algorithm, issues)
    },
  })
  const { POLICIES_FILE: _file, POLICIES: _inline, ...rest } = parsed
  return { ...rest, POLICIES: policies as Policies }
}

function defaultAlgorithm(value: string | undefined): Algorithm {
  return ALGORITHMS.includes(value as Algorithm) ? (value as Algorithm) : 'sliding-window'
}

/** The document's source text and the name its issues carry (POLICIES or POLICIES_FILE). */
function documentText(
  env: Record<string, string>,
  issues: ConfigIssue[]
): { text: string | undefined; source: string } | undefined {
  if (env.POLICIES !== undefined && env.POLICIES_FILE !== undefined) {
    issues.push({ key: 'POLICIES_FILE', message: 'set POLICIES or POLICIES_FILE, not both' })
    return undefined
  }
  if (env.POLICIES_FILE === undefined) return { text: env.POLICIES, source: 'POLICIES' }
  try {
    return { text: readFileSync(env.POLICIES_FILE, 'utf8'), source: 'POLICIES_FILE' }
  } catch (error) {
    issues.push({
      key: 'POLICIES_FILE',
      message: `cannot read ${env.POLICIES_FILE}: ${String(error)}`,
    })
    return undefined
  }
}

/**
 * The policy document merged over the defaults. Each part is checked on its own, so a bad
 * policy does not hide a bad route or an unknown reference: every issue is pushed at once.
 */
function readPolicies(
  env: Record<string, string>,
  algorithm: Algorithm,
  issues: ConfigIssue[]
): Policies | undefined {
  const found = documentText(env, issues)
  if (found === undefined) return undefined
  const { text, source } = found
  let json: unknown = {}
  if (text !== undefined) {
    try {
      json = JSON.parse(text)
    } catch (error) {
      issues.push({ key: source, message: `not valid JSON: ${(error as Error).message}` })
      return undefined
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    issues.push({ key: source, message: 'must be a JSON object' })
    return undefined
  }
  const document = json as Record<string, unknown>
  const part = <T>(schema: z.ZodType<T>, value: unknown, path: string): T | undefined => {
    const result = schema.safeParse(value)
    if (result.success) return result.data
    issues.push(...toConfigIssues(result.error, `${source}.${path}`))
    return undefined
  }
  for (const key of Object.keys(document)) {
    if (!['policies', 'routes', 'apiKeys'].includes(key)) {
      issues.push({
        key: `${source}.${key}`,
        message: 'unknown key: use policies, routes or apiKeys',
      })
    }
  }

  // Policies, one by one. A policy that is present but broken is reported once, for itself;
  // routes naming it are not also told it is unknown.
  const given = part(z.record(z.string(), z.unknown()), document.policies ?? {}, 'policies') ?? {}
  const inputs: Record<string, PolicyInput> = { ...DEFAULT_POLICY_DOCUMENT.policies }
  const broken = new Set<string>()
  for (const [name, value] of Object.entries(given)) {
    const validName = part(policyName, name, `policies.${name}`) !== undefined
    const input = part(policySchema, value, `policies.${name}`)
    if (validName && input !== undefined) inputs[name] = input
    else broken.add(name)
  }
  const policies: Record<string, Policy> = {}
  for (const [name, { algorithm: own, ...numbers }] of Object.entries(inputs)) {
    if (!broken.has(name)) policies[name] = { name, algorithm: own ?? algorithm, ...numbers }
  }

  // Routes, one by one, each checked against the policies it names.
  const givenRoutes = part(z.record(z.string(), z.unknown()), document.routes ?? {}, 'routes') ?? {}
  const knownRoutes: readonly string[] = [...ROUTE_IDS, 'algorithms']
  for (const id of Object.keys(givenRoutes)) {
    if (!knownRoutes.includes(id)) {
      issues.push({
        key: `${source}.routes.${id}`,
        message: `unknown route: use one of ${knownRoutes.join(', ')}`,
      })
    }
  }
  const routes = {} as Record<RouteId, RouteConfig>
  for (const id of ROUTE_IDS) {
    const override =
      givenRoutes[id] === undefined
        ? {}
        : (part(routeSchema, givenRoutes[id], `routes.${id}`) ?? {})
    const merged = { ...DEFAULT_POLICY_DOCUMENT.routes[id], ...override }
    const route: RouteConfig = {
      policies: merged.policies,
      cost: merged.cost ?? 1,
      tiers: merged.tiers ?? {},
      ...(merged.concurrency !== undefined && { concurrency: merged.concurrency }),
    }
    const referenced = [
      ...route.policies.map((name, i) => [`routes.${id}.policies.${i}`, name] as const),
      ...Object.entries(route.tiers).flatMap(([tier, names]) =>
        names.map((name, i) => [`routes.${id}.tiers.${tier}.${i}`, name] as const)
      ),
    ]
    for (const [path, name] of referenced) {
      const policy = policies[name]
      if (policy === undefined) {
        if (!broken.has(name)) {
          issues.push({ key: `${source}.${path}`, message: `unknown policy "${name}"` })
        }
      } else if (route.cost > capacityOf(policy)) {
        issues.push({
          key: `${source}.routes.${id}.cost`,
          message: `${route.cost} exceeds the capacity (${capacityOf(policy)}) of policy "${name}"`,
        })
      }
    }
    routes[id] = route
  }
  const algorithms = {
    ...DEFAULT_POLICY_DOCUMENT.routes.algorithms,
    ...(givenRoutes.algorithms === undefined
      ? {}
      : part(algorithmsSchema, givenRoutes.algorithms, 'routes.algorithms')),
  }
  const apiKeys = {
    ...DEFAULT_POLICY_DOCUMENT.apiKeys,
    ...(document.apiKeys === undefined
      ? {}
      : part(z.record(apiKey, tierName), document.apiKeys, 'apiKeys')),
  }
  return { policies, routes, algorithms, apiKeys }
}

/** zod issues as ConfigIssues under `prefix`; an unknown or badly named key is named itself. */
function toConfigIssues(error: z.ZodError, prefix: string): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    const at = (...path: PropertyKey[]) =>
      [prefix, ...issue.path.map(String), ...path.map(String)].filter((p) => p !== '').join('.')
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ key: at(key), message: 'unknown key' }))
    }
    if (issue.code === 'invalid_key') {
      // A record key out of its pattern: say what the pattern is.
      const rule = issue.issues.map((inner) => inner.message).join('; ')
      return [{ key: at(), message: `the key ${rule}` }]
    }
    return [{ key: at(), message: issue.message }]
  })
}
