import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { admin, buildTestApp, type TestApp } from './helpers.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

type Problem = { code: string; errors?: { path: string }[] }

function put(path: string, body: unknown) {
  return t.app.request(path, {
    method: 'PUT',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('PUT /api/schedulers/{id}', () => {
  it('when given an interval, creates the scheduler and answers when it runs next', async () => {
    const before = Date.now()

    const res = await put('/api/schedulers/heartbeat', {
      every: 60_000,
      job: { name: 'noop', data: {} },
    })
    const body = (await res.json()) as { id: string; every: number; next: number }

    expect(res.status).toBe(200)
    expect(body).toMatchObject({ id: 'heartbeat', name: 'noop', every: 60_000 })
    expect(body.next).toBeGreaterThanOrEqual(before - 1000)
    expect(await t.service.queue.getJobSchedulersCount()).toBeGreaterThanOrEqual(1)
  })

  it('when given a cron pattern in a time zone, its next run is that time there', async () => {
    const res = await put('/api/schedulers/nine-in-tokyo', {
      pattern: '0 0 9 * * *',
      tz: 'Asia/Tokyo',
      job: { name: 'report.render', data: { reportId: 'daily', pages: 1 } },
    })
    const body = (await res.json()) as { next: number; tz: string }

    expect(res.status).toBe(200)
    expect(body.tz).toBe('Asia/Tokyo')
    const hourInTokyo = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Tokyo',
      hour: 'numeric',
      hourCycle: 'h23',
    }).format(new Date(body.next))
    expect(Number(hourInTokyo)).toBe(9)
  })

  it('when the scheduler is replaced, one scheduler remains with the new interval', async () => {
    await put('/api/schedulers/replace-me', { every: 60_000, job: { name: 'noop', data: {} } })

    await put('/api/schedulers/replace-me', { every: 120_000, job: { name: 'noop', data: {} } })
    const res = await t.app.request('/api/schedulers/replace-me')

    expect(((await res.json()) as { every: number }).every).toBe(120_000)
  })

  it('when the cron pattern is invalid, answers 400 naming "pattern" and creates nothing', async () => {
    const res = await put('/api/schedulers/broken', {
      pattern: '61 * * * * *',
      job: { name: 'noop', data: {} },
    })

    expect(res.status).toBe(400)
    expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toEqual(['pattern'])
    expect((await t.app.request('/api/schedulers/broken')).status).toBe(404)
  })

  it('when both or neither of every and pattern are given, or a bad time zone, answers 400 naming them', async () => {
    const both = await put('/api/schedulers/x', {
      every: 60_000,
      pattern: '* * * * *',
      job: { name: 'noop', data: {} },
    })
    const badTz = await put('/api/schedulers/y', {
      pattern: '0 9 * * *',
      tz: 'Mars/Olympus',
      job: { name: 'noop', data: {} },
    })
    const badJob = await put('/api/schedulers/z', {
      every: 60_000,
      job: { name: 'email.send', data: { to: 'x' } },
    })

    expect(((await both.json()) as Problem).errors?.map((e) => e.path)).toEqual(['every'])
    expect(((await badTz.json()) as Problem).errors?.map((e) => e.path)).toEqual(['tz'])
    expect(((await badJob.json()) as Problem).errors?.map((e) => e.path).sort()).toEqual([
      'job.data.body',
      'job.data.subject',
      'job.data.to',
    ])
  })

  it('when the scheduler fires, a worker runs the job it makes', async () => {
    await put('/api/schedulers/fast', {
      every: 1000,
      limit: 1,
      job: { name: 'demo.simulate', data: { durationMs: 0 } },
    })
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null })
    const worker = new Worker(t.config.QUEUE_NAME, (job) => Promise.resolve(job.name), {
      connection,
      prefix: t.config.QUEUE_PREFIX,
    })

    // Other schedulers of this file fire too: wait for this one's job.
    const job = await new Promise<{ name: string; repeatJobKey?: string }>((resolve) =>
      worker.on('completed', (done) => done.repeatJobKey === 'fast' && resolve(done))
    )
    await worker.close()
    await connection.quit()

    expect(job.name).toBe('demo.simulate')
    expect(job.repeatJobKey).toBe('fast')
  })
})

describe('GET and DELETE /api/schedulers', () => {
  it('when listed, shows each scheduler; when deleted, it is gone and a second delete is 404', async () => {
    await put('/api/schedulers/to-delete', { every: 60_000, job: { name: 'noop', data: {} } })

    const listed = (await (await t.app.request('/api/schedulers')).json()) as {
      schedulers: { id: string }[]
    }
    const removed = await t.app.request('/api/schedulers/to-delete', {
      method: 'DELETE',
      headers: admin,
    })
    const again = await t.app.request('/api/schedulers/to-delete', {
      method: 'DELETE',
      headers: admin,
    })

    expect(listed.schedulers.map((s) => s.id)).toContain('to-delete')
    expect(removed.status).toBe(204)
    expect(again.status).toBe(404)
  })
})

describe('/api/queue', () => {
  it('when paused, reports paused and enqueue still works; when resumed, not paused', async () => {
    const paused = await t.app.request('/api/queue/pause', { method: 'POST', headers: admin })
    const enqueued = await t.app.request('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'noop', data: {} }),
    })
    const resumed = await t.app.request('/api/queue/resume', { method: 'POST', headers: admin })

    expect(((await paused.json()) as { paused: boolean }).paused).toBe(true)
    expect(enqueued.status).toBe(201)
    expect(((await resumed.json()) as { paused: boolean }).paused).toBe(false)
  })

  it('when limits are set and removed, GET /api/queue reports them', async () => {
    const set = await put('/api/queue/limits', {
      globalConcurrency: 4,
      globalRateLimit: { max: 100, durationMs: 1000 },
    })
    const setBody = (await set.json()) as { globalConcurrency: number; globalRateLimit: unknown }
    await put('/api/queue/limits', { globalConcurrency: null, globalRateLimit: null })
    const now = (await (await t.app.request('/api/queue')).json()) as {
      globalConcurrency: unknown
      globalRateLimit: unknown
      counts: Record<string, number>
    }

    expect(setBody).toMatchObject({
      globalConcurrency: 4,
      globalRateLimit: { max: 100, durationMs: 1000 },
    })
    expect(now).toMatchObject({ globalConcurrency: null, globalRateLimit: null })
    expect(now.counts).toHaveProperty('waiting')
  })

  it('when a limit is out of range, answers 400 naming it', async () => {
    const res = await put('/api/queue/limits', { globalConcurrency: 0 })

    expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toEqual([
      'globalConcurrency',
    ])
  })
})
