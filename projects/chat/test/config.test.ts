import { spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '@kit/config'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'

function issuesOf(env: Record<string, string>) {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.keys
    throw error
  }
  return []
}

describe('loadConfig()', () => {
  it('when nothing is set, gives the embedded mode on 3003 with its own page as the only origins', () => {
    const config = loadConfig({})

    expect(config).toMatchObject({
      PORT: 3003,
      HOST: '127.0.0.1',
      DB_FILE: './data/chat.db',
      MAX_PAYLOAD_BYTES: 65_536,
      RATE_LIMIT_MESSAGES: 100,
      SLOW_CONSUMER_POLICY: 'drop',
      ALLOW_MISSING_ORIGIN: true,
      ALLOWED_ORIGINS: ['http://localhost:3003', 'http://127.0.0.1:3003'],
    })
    expect(config.REDIS_URL).toBeUndefined()
  })

  it('when several keys are bad, names every one at once', () => {
    expect(
      issuesOf({
        PORT: '99999',
        MAX_PAYLOAD_BYTES: 'big',
        SLOW_CONSUMER_POLICY: 'ignore',
        REDIS_URL: 'http://x',
      })
    ).toEqual(['PORT', 'REDIS_URL', 'MAX_PAYLOAD_BYTES', 'SLOW_CONSUMER_POLICY', 'TOKEN_SECRET'])
  })

  it('when Redis is set without a shared TOKEN_SECRET, or with both Redis forms, refuses', () => {
    expect(issuesOf({ REDIS_URL: 'redis://127.0.0.1:6380' })).toEqual(['TOKEN_SECRET'])
    expect(
      issuesOf({
        REDIS_URL: 'redis://127.0.0.1:6380',
        REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000',
        TOKEN_SECRET: 'x'.repeat(32),
      })
    ).toEqual(['REDIS_CLUSTER_NODES'])
  })
})

describe('src/main.ts start-up', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
  const run = (env: Record<string, string>) => {
    const { REDIS_URL: _, ...inherited } = process.env
    return spawnSync(process.execPath, ['--import', 'tsx', main], {
      env: { ...inherited, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    })
  }

  it('when the environment is bad, prints one line per key and exits 1, no stack trace', () => {
    const result = run({ PORT: 'x', RATE_LIMIT_MESSAGES: '0' })

    expect(result.status).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid configuration:',
      expect.stringMatching(/^ {2}PORT: /),
      expect.stringMatching(/^ {2}RATE_LIMIT_MESSAGES: /),
    ])
  })

  it('when the port is taken, says so on one line naming PORT and exits 1', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const result = run({ PORT: String(port), DB_FILE: ':memory:' })

      expect(result.status).toBe(1)
      expect(result.stderr).toMatch(new RegExp(`PORT: ${port} is already in use`))
      expect(result.stderr).not.toMatch(/\n\s+at /)
    } finally {
      blocker.close()
    }
  })
})
