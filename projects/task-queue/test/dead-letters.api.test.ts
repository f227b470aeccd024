import { UnrecoverableError, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { admin, buildTestApp, post, type TestApp } from './helpers.ts'

let t: TestApp
let connection: Redis
let worker: Worker
beforeAll(async () => {
  t = await buildTestApp()
  connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null })
  worker = new Worker(
    t.config.QUEUE_NAME,
    (job) => {
      throw new UnrecoverableError(`refused ${job.id}`)
    },
    { connection, prefix: t.config.QUEUE_PREFIX }
  )
  worker.on('failed', (job) => void (job?.id && t.service.dlq.move(job.id)))
})
afterAll(async () => {
  await worker.close()
  await connection.quit()
  await t.close()
})

type View = { id: string; state: string; failedReason: string; data: unknown; attemptsMade: number }

async function killJob(data: object = {}): Promise<string> {
  const res = await t.app.request(post('/api/jobs', { name: 'demo.simulate', data }))
  const { id } = (await res.json()) as { id: string }
  for (let i = 0; i < 250 && !(await t.service.dlq.get(id)); i++)
    await new Promise((r) => setTimeout(r, 20))
  return id
}

describe('/api/dead-letters', () => {
  it('when a job failed for good, it is listed, readable, and GET /api/jobs says dead', async () => {
    const id = await killJob({ durationMs: 5 })

    const list = (await (await t.app.request('/api/dead-letters')).json()) as {
      total: number
      jobs: View[]
    }
    const one = (await (await t.app.request(`/api/dead-letters/${id}`)).json()) as View
    const asJob = (await (await t.app.request(`/api/jobs/${id}`)).json()) as View

    expect(list.jobs.map((j) => j.id)).toContain(id)
    expect(one).toMatchObject({
      id,
      state: 'dead',
      failedReason: `refused ${id}`,
      attemptsMade: 1,
      data: { durationMs: 5 },
    })
    expect(asJob.state).toBe('dead')
  })

  it('when replayed twice, one job runs again under a new id and the second answers already-replayed', async () => {
    const id = await killJob()
    await worker.pause()

    const first = await t.app.request(`/api/dead-letters/${id}/replay`, {
      method: 'POST',
      headers: admin,
    })
    const second = await t.app.request(`/api/dead-letters/${id}/replay`, {
      method: 'POST',
      headers: admin,
    })
    await worker.resume()

    const a = (await first.json()) as { status: string; jobId: string }
    expect(a).toEqual({ id, status: 'replayed', jobId: `${id}-r1` })
    expect(await second.json()).toEqual({ id, status: 'already-replayed', jobId: `${id}-r1` })
  })

  it('when one is deleted it is gone; when purged, none is left', async () => {
    const a = await killJob()
    await killJob()

    const removed = await t.app.request(`/api/dead-letters/${a}`, {
      method: 'DELETE',
      headers: admin,
    })
    const missing = await t.app.request(`/api/dead-letters/${a}`)
    const purged = await t.app.request('/api/dead-letters', { method: 'DELETE', headers: admin })

    expect(removed.status).toBe(204)
    expect(missing.status).toBe(404)
    expect(((await purged.json()) as { removed: number }).removed).toBeGreaterThanOrEqual(1)
    expect(await t.service.dlq.count()).toBe(0)
  })

  it('when an unknown id is replayed, answers 404', async () => {
    const res = await t.app.request('/api/dead-letters/nothing/replay', {
      method: 'POST',
      headers: admin,
    })

    expect(res.status).toBe(404)
  })
})
