/**
 * The service's configuration: environment variables plus a policy document (JSON in `POLICIES`
 * or in the file `POLICIES_FILE`), validated once at start-up. Every bad key is reported in one
 * ConfigError, so a deploy fails once with the whole list rather than once per mistake.
 *
 * The defaults give the embedded mode: no REDIS_URL means in-memory limiters.
 *
 * @example
 * const config = loadConfig(process.env) // throws ConfigError naming every bad key
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { InvalidTrustProxyError, parseTrustedRanges } from './client-identity/client-key.ts'
import type { TrustProxy } from './client-identity/client-key.ts'
import { ALGORITHMS, capacityOf, type Algorithm, type Policy } from './limiter/index.ts'

export type ConfigIssue = { path: string; message: string }

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`)
    this.name = this.constructor.name
    this.issues = issues
  }
}

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

export type Config = {
  port: number
  host: string
  logLevel: string
  redisUrl: string | undefined
  /** Algorithm of the policies that name none. */
  algorithm: Algorithm
  trustProxy: TrustProxy
  ipv6Prefix: number
  storeFailure: 'fail-open' | 'fail-closed' | 'insurance'
  redisTimeoutMs: number
  shadowMode: boolean
  blockCache: boolean
  /** Redis: concurrent consumes of one key in one event-loop turn share one script call. */
  coalesce: boolean
  legacyHeaders: boolean
  /** Up to this many seconds added at random to a refusal's `t` and Retry-After. */
  retryJitterSeconds: number
  rateLimitField: 'all' | 'most-restrictive'
  /** Most keys each in-memory limiter holds (memory backend and insurance); LRU past it. */
  memoryMaxKeys: number
  loadShedCapacity: number
  loadShedReservedShare: number
  concurrencyLeaseMs: number
  keyPrefix: string
  apiKeySecret: string | undefined
  /** By name; every route's policies exist here. */
  policies: Record<string, Policy>
  routes: Record<RouteId, RouteConfig>
  /** The per-algorithm benchmark routes: one policy per algorithm with these numbers. */
  algorithmRoutes: { limit: number; windowMs: number; burst?: number }
  /** Raw API key → tier name. Only these keys get their own quota (see app.ts). */
  apiKeys: Record<string, string>
}

const positiveInt = z.coerce.number().int().positive()
const flag = z.stringbool()

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  // Loopback by default: a dev run must not listen on every interface (Docker sets 0.0.0.0).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  ALGORITHM: z.enum(ALGORITHMS).default('sliding-window'),
  POLICIES: z.string().optional(),
  POLICIES_FILE: z.string().optional(),
  TRUST_PROXY: z.string().default('0'),
  IPV6_PREFIX: z.coerce.number().int().min(1).max(128).default(64),
  STORE_FAILURE: z.enum(['fail-open', 'fail-closed', 'insurance']).default('insurance'),
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(50).max(10_000).default(500),
  SHADOW_MODE: flag.default(false),
  BLOCK_CACHE: flag.default(true),
  COALESCE: flag.default(true),
  LEGACY_HEADERS: flag.default(false),
  RETRY_JITTER_SECONDS: z.coerce.number().int().min(0).max(3600).default(0),
  RATELIMIT_FIELD: z.enum(['all', 'most-restrictive']).default('all'),
  MEMORY_MAX_KEYS: positiveInt.max(100_000_000).default(50_000),
  LOAD_SHED_CAPACITY: positiveInt.max(1_000_000).default(100),
  LOAD_SHED_RESERVED_SHARE: z.coerce.number().min(0).lt(1).default(0.2),
  CONCURRENCY_LEASE_MS: positiveInt.max(3_600_000).default(60_000),
  KEY_PREFIX: z.string().min(1).max(64).default('rate-limiter:'),
  API_KEY_SECRET: z.string().min(16).optional(),
})

// Policy names travel in Structured Field Strings and metric labels: keep them plain.
const policyName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -')

const policySchema = z.strictObject({
  algorithm: z.enum(ALGORITHMS).optional(),
  limit: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  burst: z.number().int().positive().optional(),
})

const routeSchema = z.strictObject({
  policies: z.array(policyName),
  cost: z.number().int().min(0).optional(),
  tiers: z.record(z.string().min(1), z.array(policyName)).optional(),
  concurrency: z.number().int().positive().optional(),
})

const routeOverride = routeSchema.partial().optional()

const documentSchema = z.strictObject({
  policies: z.record(policyName, policySchema).optional(),
  routes: z
    .strictObject({
      resource: routeOverride,
      reports: routeOverride,
      search: routeOverride,
      uploads: routeOverride,
      priority: routeOverride,
      decisions: routeOverride,
      algorithms: policySchema.omit({ algorithm: true }).partial().optional(),
    })
    .optional(),
  apiKeys: z.record(z.string().min(8).max(512), z.string().min(1)).optional(),
})

type PolicyDocument = z.infer<typeof documentSchema>
type PolicyInput = z.infer<typeof policySchema>
type RouteInput = z.infer<typeof routeSchema>

/** The embedded defaults; a POLICIES document is merged over them (policy by policy, route by route). */
export const DEFAULT_POLICY_DOCUMENT: {
  policies: Record<string, PolicyInput>
  routes: Record<RouteId, RouteInput> & { algorithms: Config['algorithmRoutes'] }
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
 * Parses and checks the environment and the policy document. Throws ConfigError listing every
 * issue, each named by its variable (`PORT`) or document path (`POLICIES.policies.api.limit`).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable (`REDIS_URL=` in a compose file) means unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const parsed = envSchema.safeParse(present)
  const issues: ConfigIssue[] = parsed.success ? [] : toConfigIssues(parsed.error, '')

  const trustProxy = parseTrustProxy(present.TRUST_PROXY ?? '0', issues)
  const document = readDocument(present, issues)
  if (document === undefined) throw new ConfigError(issues)
  const source = present.POLICIES_FILE === undefined ? 'POLICIES' : 'POLICIES_FILE'
  // Checked even when a variable is bad, so one run names every problem.
  const defaultAlgorithm = parsed.data?.ALGORITHM ?? 'sliding-window'

  const policyInputs: Record<string, PolicyInput> = {
    ...DEFAULT_POLICY_DOCUMENT.policies,
    ...document.policies,
  }
  const policies: Record<string, Policy> = {}
  for (const [name, input] of Object.entries(policyInputs)) {
    policies[name] = {
      name,
      algorithm: input.algorithm ?? defaultAlgorithm,
      ...withoutAlgorithm(input),
    }
  }

  const routes = {} as Record<RouteId, RouteConfig>
  for (const id of ROUTE_IDS) {
    const merged = { ...DEFAULT_POLICY_DOCUMENT.routes[id], ...document.routes?.[id] }
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
        issues.push({ path: `${source}.${path}`, message: `unknown policy "${name}"` })
      } else if (route.cost > capacityOf(policy)) {
        issues.push({
          path: `${source}.routes.${id}.cost`,
          message: `${route.cost} exceeds the capacity (${capacityOf(policy)}) of policy "${name}"`,
        })
      }
    }
    routes[id] = route
  }
  const algorithmRoutes = {
    ...DEFAULT_POLICY_DOCUMENT.routes.algorithms,
    ...document.routes?.algorithms,
  }
  if (!parsed.success || trustProxy === undefined || issues.length > 0) {
    throw new ConfigError(issues)
  }
  const e = parsed.data

  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    algorithm: e.ALGORITHM,
    trustProxy,
    ipv6Prefix: e.IPV6_PREFIX,
    storeFailure: e.STORE_FAILURE,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    shadowMode: e.SHADOW_MODE,
    blockCache: e.BLOCK_CACHE,
    coalesce: e.COALESCE,
    legacyHeaders: e.LEGACY_HEADERS,
    retryJitterSeconds: e.RETRY_JITTER_SECONDS,
    rateLimitField: e.RATELIMIT_FIELD,
    memoryMaxKeys: e.MEMORY_MAX_KEYS,
    loadShedCapacity: e.LOAD_SHED_CAPACITY,
    loadShedReservedShare: e.LOAD_SHED_RESERVED_SHARE,
    concurrencyLeaseMs: e.CONCURRENCY_LEASE_MS,
    keyPrefix: e.KEY_PREFIX,
    apiKeySecret: e.API_KEY_SECRET,
    policies,
    routes,
    algorithmRoutes,
    apiKeys: { ...DEFAULT_POLICY_DOCUMENT.apiKeys, ...document.apiKeys },
  }
}

function withoutAlgorithm({ algorithm: _, ...rest }: PolicyInput) {
  return rest
}

/** `0`/`false` (none), a hop count, or a comma-separated list of CIDRs and named sets. */
function parseTrustProxy(value: string, issues: ConfigIssue[]): TrustProxy | undefined {
  const text = value.trim()
  if (text === 'false' || text === '') return 0
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (hops <= 100) return hops
    issues.push({ path: 'TRUST_PROXY', message: 'a hop count must be at most 100' })
    return undefined
  }
  const entries = text.split(',').map((entry) => entry.trim())
  try {
    parseTrustedRanges(entries)
    return entries
  } catch (error) {
    if (!(error instanceof InvalidTrustProxyError)) throw error
    issues.push({ path: 'TRUST_PROXY', message: error.message })
    return undefined
  }
}

function readDocument(
  env: Record<string, string | undefined>,
  issues: ConfigIssue[]
): PolicyDocument | undefined {
  if (env.POLICIES !== undefined && env.POLICIES_FILE !== undefined) {
    issues.push({ path: 'POLICIES_FILE', message: 'set POLICIES or POLICIES_FILE, not both' })
    return undefined
  }
  const source = env.POLICIES_FILE === undefined ? 'POLICIES' : 'POLICIES_FILE'
  let text = env.POLICIES
  if (env.POLICIES_FILE !== undefined) {
    try {
      text = readFileSync(env.POLICIES_FILE, 'utf8')
    } catch (error) {
      issues.push({ path: source, message: `cannot read ${env.POLICIES_FILE}: ${String(error)}` })
      return undefined
    }
  }
  if (text === undefined) return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    issues.push({ path: source, message: `not valid JSON: ${(error as Error).message}` })
    return undefined
  }
  const parsed = documentSchema.safeParse(json)
  if (parsed.success) return parsed.data
  issues.push(...toConfigIssues(parsed.error, source))
  return undefined
}

function toConfigIssues(error: z.ZodError, prefix: string): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    // An unknown key is reported once per key, each named.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined]
    return keys.map((key) => ({
      path: [prefix, ...issue.path.map(String), ...(key === undefined ? [] : [key])]
        .filter((part) => part !== '')
        .join('.'),
      message: key === undefined ? issue.message : 'unknown key',
    }))
  })
}
