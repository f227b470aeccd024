import { connectCluster, startRedisCluster, type RedisCluster } from '@kit/testing'
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHANNELS } from '../src/channels/channel.ts'
import { queueName } from '../src/delivery/queues.ts'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// The channel queues (and the dead-letter queue) on a real three-master Redis Cluster: BullMQ's
// Lua needs every key of a queue in one slot, which the `{channel}` hash tags give, and the five
// queues spread over the masters.
let cluster: RedisCluster
let client: Cluster
let stack: Stack

beforeAll(async () => {
  cluster = await startRedisCluster()
  client = await connectCluster(cluster.urls, { redisOptions: { maxRetriesPerRequest: null } })
  stack = await startStack({ queueConnection: client })
  await stack.startWorkers()
  for (const id of ['cl-a', 'cl-b']) await addSubscriber(stack, id)
}, 90_000)

afterAll(async () => {
  await stack?.close()
  await client?.quit()
  await cluster?.stop()
})

describe('channel queues on a Redis Cluster', () => {
  it('when events fan out through queues on a cluster, every delivery is made and each queue lives on the master of its hash tag', async () => {
    for (let i = 0; i < 10; i++) {
      expect(
        (await trigger(stack, { type: 'cluster.test', recipients: ['cl-a', 'cl-b'], data: { i } }))
          .status
      ).toBe(202)
    }
    await settled(stack, { timeoutMs: 60_000 })

    expect(stack.api.log.countByStatus()).toEqual({ sent: 10 * 2 * 5 })
    const prefix = stack.config.QUEUE_PREFIX
    const hosts = new Set<number>()
    for (const channel of CHANNELS) {
      const owner = await cluster.masterOf(queueName(channel))
      hosts.add(owner.port)
      const keys = await Promise.all(
        client.nodes('master').map(async (node) => ({
          port: node.options.port,
          keys: await node.keys(`${prefix}:${queueName(channel)}:*`),
        }))
      )
      const holding = keys.filter((k) => k.keys.length > 0).map((k) => k.port)
      expect(holding, `${channel}'s keys are on one master`).toEqual([owner.port])
    }
    expect(hosts.size).toBeGreaterThan(1)
  }, 90_000)
})
