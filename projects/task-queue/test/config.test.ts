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
  it('when nothing is set, answers the embedded mode on port 3002 with one worker', () => {
    const config = loadConfig({})

    expect(config).toMatchObject({
      PORT: 3002,
      HOST: '127.0.0.1',
      WORKERS: 1,
      QUEUE_NAME: 'jobs',
      FAIR_WINDOW: 20,
    })
    expect(config.REDIS_URL).toBeUndefined()
    expect(config.QUEUE_PREFIX).toBe('{task-queue:jobs}')
  })

  it('when REDIS_URL is set, starts no worker of its own unless WORKERS says so', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390' }).WORKERS).toBe(0)
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390', WORKERS: '2' }).WORKERS).toBe(2)
  })

  it('when several keys are bad, names every one at once', () => {
    expect(
      issuesOf({
        PORT: 'x',
        REDIS_URL: 'http://nope',
        QUEUE_NAME: 'Bad Name',
        PROCESSOR_MODE: 'thread',
        GLOBAL_RATE_LIMIT_DURATION_MS: '500',
      })
    ).toEqual(['PORT', 'REDIS_URL', 'QUEUE_NAME', 'PROCESSOR_MODE', 'GLOBAL_RATE_LIMIT'])
  })

  it('when the stalled check is far slower than the lock, refuses', () => {
    expect(issuesOf({ LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '10000' })).toEqual([
      'STALLED_INTERVAL_MS',
    ])
  })
})
