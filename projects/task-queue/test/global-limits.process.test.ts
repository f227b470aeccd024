import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  buildTestApp,
  post,
  redisUrlOf,
  startWorker,
  TARGETS,
  type TestApp,
  type WorkerProcess,
} from './helpers.ts'

describe.each(TARGETS)('global limits across worker processes, on %s Redis', (target) => {
  let t: TestApp
  let workers: WorkerProcess[]
  beforeAll(async () => {
    const redisUrl = redisUrlOf(target)
    t = await buildTestApp({ redisUrl, env: { KEEP_COMPLETED: '100000' } })
    const env = { REDIS_URL: redisUrl, QUEUE_NAME: t.config.QUEUE_NAME, WORKER_CONCURRENCY: '5' }
    workers = await Promise.all([startWorker(env), startWorker(env)])
  })
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()))
    await t.close()
  })

  function limits(body: object) {
    return t.app.request('/api/queue/limits', {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  }

  async function runAll(count: number, durationMs: number) {
    const res = await t.app.request(
      post('/api/jobs/bulk', {
        jobs: Array.from({ length: count }, () => ({
          name: 'demo.simulate',
          data: { durationMs },
        })),
      })
    )
    const ids = ((await res.json()) as { jobs: { id: string }[] }).jobs.map((j) => j.id)
    const deadline = Date.now() + 30_000
    for (;;) {
      const jobs = await Promise.all(ids.map((id) => t.service.queue.getJob(id)))
      if (jobs.every((job) => job?.finishedOn)) return jobs.map((job) => job!)
      if (Date.now() > deadline) throw new Error('jobs did not finish')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  it('when the global concurrency is 2, no more than 2 jobs run at once across 2 workers of 5', async () => {
    expect((await limits({ globalConcurrency: 2, globalRateLimit: null })).status).toBe(200)

    const jobs = await runAll(12, 150)

    // The most jobs whose [processedOn, finishedOn) intervals overlap at any start.
    const overlap = Math.max(
      ...jobs.map(
        (a) =>
          jobs.filter((b) => b.processedOn! <= a.processedOn! && a.processedOn! < b.finishedOn!)
            .length
      )
    )
    expect(overlap).toBeLessThanOrEqual(2)
    expect(overlap).toBeGreaterThanOrEqual(1)
  })

  it('when the global rate limit is 4 per second, 12 jobs take at least two more windows to start', async () => {
    expect(
      (await limits({ globalConcurrency: null, globalRateLimit: { max: 4, durationMs: 1000 } }))
        .status
    ).toBe(200)

    const jobs = await runAll(12, 0)

    const starts = jobs.map((job) => job.processedOn!).sort((a, b) => a - b)
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(1900)
    await limits({ globalRateLimit: null })
  })
})
