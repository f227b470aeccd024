import { ConfigError } from '@kit/config'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { STANDARD_WEBHOOKS_SCHEDULE } from '../src/standard-webhooks/index.ts'

function issuesOf(env: Record<string, string>) {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.keys
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig()', () => {
  it('when nothing is set, gives the embedded defaults on port 3004 with the spec retry schedule', () => {
    const config = loadConfig({})

    expect(config).toMatchObject({
      PORT: 3004,
      HOST: '127.0.0.1',
      WORKERS: 1,
      IDEMPOTENCY_TTL_HOURS: 24,
    })
    expect(config.REDIS_URL).toBeUndefined()
    expect(config.WEBHOOK_RETRY_SCHEDULE).toEqual(STANDARD_WEBHOOKS_SCHEDULE)
    expect(config.CHANNEL_CONCURRENCY.email).toBe(20)
  })

  it('when lists are given, parses the schedule, concurrency, throttles and CIDRs', () => {
    const config = loadConfig({
      WEBHOOK_RETRY_SCHEDULE: '5s,5m,2h',
      CHANNEL_CONCURRENCY: 'sms=3',
      CHANNEL_THROTTLE: 'sms=10/1s',
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32,10.0.0.0/8',
    })

    expect(config.WEBHOOK_RETRY_SCHEDULE).toEqual([5000, 300_000, 7_200_000])
    expect(config.CHANNEL_CONCURRENCY).toMatchObject({ sms: 3, email: 20 })
    expect(config.CHANNEL_THROTTLE).toEqual({ sms: { max: 10, duration: 1000 } })
    expect(config.WEBHOOK_ALLOWED_CIDRS).toEqual(['127.0.0.1/32', '10.0.0.0/8'])
  })

  it('when several keys are bad, names every one at once', () => {
    expect(
      issuesOf({
        PORT: 'x',
        REDIS_URL: 'http://x',
        IDEMPOTENCY_TTL_HOURS: '1',
        WEBHOOK_RETRY_SCHEDULE: 'sometimes',
        CHANNEL_CONCURRENCY: 'fax=2',
        WEBHOOK_ALLOWED_CIDRS: 'everything',
      }).sort()
    ).toEqual([
      'CHANNEL_CONCURRENCY',
      'IDEMPOTENCY_TTL_HOURS',
      'PORT',
      'REDIS_URL',
      'WEBHOOK_ALLOWED_CIDRS',
      'WEBHOOK_RETRY_SCHEDULE',
    ])
  })
})
