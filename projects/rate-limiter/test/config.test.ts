import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, type ConfigIssue } from '@kit/config'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('loadConfig accepted the configuration')
}

const issuesOf = (env: Record<string, string>): string[] =>
  configErrorOf(env).issues.map((issue) => issue.key)

/** The message of the issue named `key`. */
function messageOf(env: Record<string, string>, key: string): string | undefined {
  return configErrorOf(env).issues.find((issue: ConfigIssue) => issue.key === key)?.message
}

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rate-limiter-config-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('when nothing is set, gives the embedded mode: memory backend and the default policies', () => {
    const config = loadConfig({})

    expect(config.REDIS_URL).toBeUndefined()
    expect(config).toMatchObject({
      PORT: 3001,
      ALGORITHM: 'sliding-window',
      TRUST_PROXY: 0,
      IPV6_PREFIX: 64,
      STORE_FAILURE: 'insurance',
      REDIS_TIMEOUT_MS: 500,
      SHADOW_MODE: false,
      BLOCK_CACHE: true,
      COALESCE: true,
      LEGACY_HEADERS: false,
      RETRY_JITTER_SECONDS: 0,
      MEMORY_MAX_KEYS: 50_000,
    })
    expect(config.POLICIES.policies.default).toEqual({
      name: 'default',
      algorithm: 'sliding-window',
      limit: 100,
      windowMs: 60_000,
    })
    expect(config.POLICIES.routes.search.policies).toEqual(['search-burst', 'search-minute'])
  })

  it('when several variables are bad, names every one of them in one error', () => {
    const paths = issuesOf({
      PORT: '70000',
      REDIS_URL: 'http://localhost',
      ALGORITHM: 'leaky',
      TRUST_PROXY: '10.0.0.0/99',
      IPV6_PREFIX: '0',
      STORE_FAILURE: 'maybe',
      REDIS_TIMEOUT_MS: '-5',
      SHADOW_MODE: 'perhaps',
      LOAD_SHED_RESERVED_SHARE: '1',
    })

    expect(paths.sort()).toEqual(
      [
        'ALGORITHM',
        'IPV6_PREFIX',
        'LOAD_SHED_RESERVED_SHARE',
        'PORT',
        'REDIS_TIMEOUT_MS',
        'REDIS_URL',
        'SHADOW_MODE',
        'STORE_FAILURE',
        'TRUST_PROXY',
      ].sort()
    )
  })

  it('when the error is printed, its message lists each key with its reason', () => {
    expect(() => loadConfig({ PORT: 'x', STORE_FAILURE: 'maybe' })).toThrow(
      /^Invalid configuration:\n {2}PORT: .*\n {2}STORE_FAILURE: /
    )
  })

  it('when a route references an unknown policy, fails at start naming the route', () => {
    const policies = JSON.stringify({
      routes: {
        search: { policies: ['search-burst', 'nope'] },
        resource: { tiers: { gold: ['x'] } },
      },
    })

    expect(issuesOf({ POLICIES: policies })).toEqual([
      'POLICIES.routes.resource.tiers.gold.0',
      'POLICIES.routes.search.policies.1',
    ])
  })

  it('when policies are out of range or hold unknown keys, names each field', () => {
    const policies = JSON.stringify({
      policies: {
        api: { limit: 0, windowMs: 1.5, algorithm: 'magic', burts: 3 },
        'bad name': { limit: 1, windowMs: 1000 },
      },
      routes: { reports: { cost: -1 }, teleport: {} },
    })

    expect(issuesOf({ POLICIES: policies }).sort()).toEqual(
      [
        'POLICIES.policies.api.algorithm',
        'POLICIES.policies.api.burts',
        'POLICIES.policies.api.limit',
        'POLICIES.policies.api.windowMs',
        'POLICIES.policies.bad name',
        'POLICIES.routes.reports.cost',
        'POLICIES.routes.teleport',
      ].sort()
    )
  })

  it('when a route costs more than its policy can ever hold, fails naming the cost', () => {
    const policies = JSON.stringify({ routes: { reports: { cost: 50 } } })

    expect(issuesOf({ POLICIES: policies })).toEqual(['POLICIES.routes.reports.cost'])
  })

  it('when POLICIES is not JSON, says so', () => {
    expect(issuesOf({ POLICIES: '{nope' })).toEqual(['POLICIES'])
  })

  it('when both an env variable and the document are bad, reports both', () => {
    const policies = JSON.stringify({ routes: { search: { policies: ['nope'] } } })

    expect(issuesOf({ PORT: '-1', POLICIES: policies })).toEqual([
      'PORT',
      'POLICIES.routes.search.policies.0',
    ])
  })

  it('when POLICIES_FILE is given, merges it over the defaults and keeps the rest', () => {
    const file = join(dir, 'policies.json')
    writeFileSync(
      file,
      JSON.stringify({
        policies: { default: { algorithm: 'gcra', limit: 5, windowMs: 1000, burst: 8 } },
        routes: { algorithms: { limit: 1_000_000_000 } },
        apiKeys: { 'demo-pro-key': 'pro' },
      })
    )

    const config = loadConfig({ POLICIES_FILE: file, ALGORITHM: 'token-bucket' })

    expect(config.POLICIES.policies.default).toMatchObject({
      algorithm: 'gcra',
      limit: 5,
      burst: 8,
    })
    expect(config.POLICIES.policies.reports?.algorithm).toBe('token-bucket')
    expect(config.POLICIES.algorithms).toEqual({ limit: 1_000_000_000, windowMs: 1000 })
    expect(config.POLICIES.apiKeys).toEqual({ 'demo-pro-key': 'pro' })
  })

  it('when POLICIES_FILE cannot be read, names it', () => {
    expect(issuesOf({ POLICIES_FILE: join(dir, 'missing.json') })).toEqual(['POLICIES_FILE'])
  })

  it.each([
    ['0', 0],
    ['2', 2],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('when TRUST_PROXY is %j, reads it as %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected)
  })

  it('when a variable is empty (REDIS_URL= in compose), treats it as unset', () => {
    const config = loadConfig({ REDIS_URL: '', PORT: '' })

    expect(config.REDIS_URL).toBeUndefined()
    expect(config.PORT).toBe(3001)
  })

  it('when a policy is malformed and a route names an unknown one, reports both in one run', () => {
    const policies = JSON.stringify({
      policies: { api: { limit: 0, windowMs: 1000 } },
      routes: { search: { policies: ['search-burst', 'nope'] }, resource: { policies: ['api'] } },
    })

    expect(issuesOf({ POLICIES: policies, PORT: '0' })).toEqual([
      'PORT',
      'POLICIES.policies.api.limit',
      'POLICIES.routes.search.policies.1',
    ])
  })

  it.each([
    ['redis://', /names no host/],
    ['redis://:6379', /names no host/],
    ['redis://localhost:0', /port 0 is not in 1-65535/],
    ['redis://localhost:99999', /port 99999 is not in 1-65535/],
    ['http://localhost:6379', /redis:\/\/ or rediss:\/\//],
  ])('when REDIS_URL is %s, refuses it saying why', (url, reason) => {
    expect(messageOf({ REDIS_URL: url }, 'REDIS_URL')).toMatch(reason)
  })

  it.each([
    'redis://127.0.0.1:6379',
    'rediss://user:secret@redis.internal:6380/2',
    'redis://[::1]',
  ])('when REDIS_URL is %s, accepts it', (url) => {
    expect(loadConfig({ REDIS_URL: url }).REDIS_URL).toBe(url)
  })

  it.each([
    ['0', '0 is not a port: use 1-65535'],
    ['99999', '99999 is not a port: use 1-65535'],
    ['http', 'http is not a port: use 1-65535'],
  ])('when PORT is %s, refuses it naming the value', (value, message) => {
    expect(messageOf({ PORT: value }, 'PORT')).toBe(message)
  })

  it('when a record key is out of its pattern, the message states the pattern', () => {
    const policies = JSON.stringify({
      policies: { 'bad name': { limit: 1, windowMs: 1000 } },
      routes: { resource: { tiers: { 'gold tier': ['pro'] } } },
      apiKeys: { short: 'pro' },
    })
    const error = configErrorOf({ POLICIES: policies })

    expect(error.issues).toEqual([
      {
        key: 'POLICIES.policies.bad name',
        message: 'must be 1-64 characters of A-Z a-z 0-9 _ . : -',
      },
      {
        key: 'POLICIES.routes.resource.tiers.gold tier',
        message: 'the key must be 1-64 characters of A-Z a-z 0-9 _ . : -',
      },
      { key: 'POLICIES.apiKeys.short', message: 'the key must be 8-512 characters' },
    ])
  })
})
