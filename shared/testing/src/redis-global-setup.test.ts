import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'

describe('redis-global-setup', () => {
  it('when a test injects redisUrl (or reads REDIS_URL), a redis-server started for the run answers there', async () => {
    const url = inject('redisUrl')
    const client = new Redis(url, { retryStrategy: () => null })

    const reply = await client.ping()

    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
    expect(url).not.toBe('redis://127.0.0.1:6379')
    expect(process.env.REDIS_URL).toBe(url)
    expect(reply).toBe('PONG')
    client.disconnect()
  })
})
