import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.ts'

function issuesOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => issue.path)
    throw error
  }
  throw new Error('loadConfig accepted the configuration')
}

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rate-limiter-config-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('when nothing is set, gives the embedded mode: memory backend and the default policies', () => {
    const config = loadConfig({})

    expect(config.redisUrl).toBeUndefined()
    expect(config).toMatchObject({
      port: 3000,
      algorithm: 'sliding-window',
      trustProxy: 0,
      ipv6Prefix: 64,
      storeFailure: 'insurance',
      redisTimeoutMs: 500,
      shadowMode: false,
      blockCache: true,
      coalesce: true,
      legacyHeaders: false,
      retryJitterSeconds: 0,
    })
    expect(config.policies.default).toEqual({
      name: 'default',
      algorithm: 'sliding-window',
      limit: 100,
      windowMs: 60_000,
    })
    expect(config.routes.search.policies).toEqual(['search-burst', 'search-minute'])
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
      /PORT: .*\n.*STORE_FAILURE: /
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

    expect(config.policies.default).toMatchObject({ algorithm: 'gcra', limit: 5, burst: 8 })
    expect(config.policies.reports?.algorithm).toBe('token-bucket')
    expect(config.algorithmRoutes).toEqual({ limit: 1_000_000_000, windowMs: 1000 })
    expect(config.apiKeys).toEqual({ 'demo-pro-key': 'pro' })
  })

  it('when POLICIES_FILE cannot be read, names it', () => {
    expect(issuesOf({ POLICIES_FILE: join(dir, 'missing.json') })).toEqual(['POLICIES_FILE'])
  })

  it.each([
    ['0', 0],
    ['2', 2],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('when TRUST_PROXY is %j, reads it as %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected)
  })

  it('when a variable is empty (REDIS_URL= in compose), treats it as unset', () => {
    expect(loadConfig({ REDIS_URL: '', PORT: '' })).toMatchObject({
      redisUrl: undefined,
      port: 3000,
    })
  })
})
