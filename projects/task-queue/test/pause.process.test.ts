/**
 * Pause and resume through the API with a worker process running: paused, the worker takes no
 * job while jobs wait; resumed, it runs them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  buildTestApp,
  post,
  startWorker,
  type TestApp,
  type WorkerProcess,
} from './helpers.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('POST /api/queue/pause and /resume with a worker running', () => {
  let t: TestApp
  let worker: WorkerProcess

  beforeAll(async () => {
    t = await buildTestApp()
    worker = await startWorker({
      REDIS_URL: process.env.REDIS_URL!,
      QUEUE_NAME: t.config.QUEUE_NAME,
      WORKER_CONCURRENCY: '5',
    })
  })
  afterAll(async () => {
    await worker.stop()
    await t.close()
  })

  async function enqueue(): Promise<string> {
    const res = await t.app.request(post('/api/jobs', { name: 'noop', data: {} }))
    expect(res.status).toBe(201)
    return ((await res.json()) as { id: string }).id
  }

  async function completed(ids: string[]): Promise<number> {
    const states = await Promise.all(ids.map((id) => t.service.queue.getJobState(id)))
    return states.filter((state) => state === 'completed').length
  }

  async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(50)
    }
  }

  it('when paused, the running worker starts none of the waiting jobs; when resumed, it runs them all', async () => {
    // The worker is taking jobs before the pause.
    const warmup = await enqueue()
    await until(async () => (await completed([warmup])) === 1, 'the worker to take a job')

    const paused = await t.app.request('/api/queue/pause', { method: 'POST', headers: admin })
    const ids = await Promise.all(Array.from({ length: 10 }, enqueue))
    // A bounded look: a running worker would have drained 10 noops many times over by now.
    await sleep(1500)
    const whilePaused = await Promise.all(ids.map((id) => t.service.queue.getJob(id)))
    const counts = await t.service.queue.getJobCounts('active', 'completed')

    expect(((await paused.json()) as { paused: boolean }).paused).toBe(true)
    expect(worker.child.exitCode).toBeNull()
    expect(whilePaused.map((job) => job?.processedOn)).toEqual(ids.map(() => undefined))
    expect(counts).toEqual({ active: 0, completed: 1 })

    const resumed = await t.app.request('/api/queue/resume', { method: 'POST', headers: admin })
    await until(async () => (await completed(ids)) === ids.length, 'every job to complete')

    expect(((await resumed.json()) as { paused: boolean }).paused).toBe(false)
    expect(await t.service.queue.getJobCounts('waiting', 'active', 'completed')).toEqual({
      waiting: 0,
      active: 0,
      completed: 11,
    })
  }, 60_000)
})
