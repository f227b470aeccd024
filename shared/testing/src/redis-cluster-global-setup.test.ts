import { describe, expect, inject, it } from 'vitest'
import { connectCluster } from './redis-cluster.ts'
import { uniqueName } from './unique-name.ts'

describe('redis-cluster-global-setup', () => {
  it('when a test injects redisClusterUrls, a cluster of three masters answers there', async () => {
    const urls = inject('redisClusterUrls')
    const client = await connectCluster(urls)
    const key = `${uniqueName('global-cluster')}:k`

    await client.set(key, 'v')

    expect(urls).toMatch(/^redis:\/\/127\.0\.0\.1:\d+(,redis:\/\/127\.0\.0\.1:\d+){2}$/)
    expect(process.env.REDIS_CLUSTER_URLS).toBe(urls)
    expect(await client.get(key)).toBe('v')
    expect(String(await client.cluster('INFO'))).toContain('cluster_state:ok')
    client.disconnect()
  })
})
