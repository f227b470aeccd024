import { Worker } from 'bullmq'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  buildTestApp,
  post,
  redisUrlOf,
  TARGETS,
  type TestApp,
  testClient,
} from './helpers.ts'

describe.each(TARGETS)('on %s Redis', (target) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ redisUrl: redisUrlOf(target) })
  })
  afterAll(() => t.close())
  afterEach(async () => {
    await t.service.queue.drain(true)
  })

  const email = { to: 'ada@example.com', subject: 'Hello', body: 'Hi Ada' }
  type Problem = { status: number; code: string; errors?: { path: string; message: string }[] }
  type Enqueued = { id: string; state: string; duplicate: boolean; deduplicated: boolean }

  async function send(body: unknown, headers: Record<string, string> = {}) {
    const res = await t.app.request(post('/api/jobs', body, headers))
    return { res, body: (await res.json()) as Enqueued & Problem }
  }

  async function waitingCount() {
    return t.service.queue.getJobCountByTypes('wait', 'delayed', 'prioritized')
  }

  describe('POST /api/jobs', () => {
    it('when the payload is valid, answers 201 and the job waits with its type’s retry policy', async () => {
      const { res, body } = await send({ name: 'email.send', data: email })

      expect(res.status).toBe(201)
      expect(body).toMatchObject({
        name: 'email.send',
        state: 'waiting',
        duplicate: false,
        deduplicated: false,
      })
      const job = await t.service.queue.getJob(body.id)
      expect(job?.data).toEqual(email)
      expect(job?.opts).toMatchObject({
        attempts: 5,
        backoff: { type: 'full-jitter', delay: 1000 },
        timeoutMs: 10_000,
      })
    })

    it('when options are given, the job is delayed or prioritized with its own retries and deadline', async () => {
      const delayed = await send({ name: 'noop', data: {}, options: { delayMs: 60_000 } })
      const prioritized = await send({
        name: 'demo.simulate',
        data: {},
        options: {
          priority: 3,
          attempts: 7,
          backoff: { type: 'table', delaysMs: [10, 20] },
          timeoutMs: 500,
        },
      })

      expect(delayed.body.state).toBe('delayed')
      expect(prioritized.body.state).toBe('prioritized')
      const job = await t.service.queue.getJob(prioritized.body.id)
      expect(job?.opts).toMatchObject({
        priority: 3,
        attempts: 7,
        backoff: { type: 'table', delays: [10, 20] },
        timeoutMs: 500,
      })
      expect(await t.service.queue.getJobCountByTypes('delayed')).toBe(1)
    })

    it('when the job name is unknown, answers 400 naming "name" and enqueues nothing', async () => {
      const { res, body } = await send({ name: 'email.sned', data: email })

      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(body.code).toBe('validation_failed')
      expect(body.errors?.map((e) => e.path)).toEqual(['name'])
      expect(await waitingCount()).toBe(0)
    })

    it('when the payload does not fit its type, answers 400 naming each field', async () => {
      const { res, body } = await send({
        name: 'email.send',
        data: { to: 'not-an-email', subject: '', extra: 1 },
      })

      expect(res.status).toBe(400)
      expect(body.errors?.map((e) => e.path).sort()).toEqual([
        'data.body',
        'data.extra',
        'data.subject',
        'data.to',
      ])
      expect(await waitingCount()).toBe(0)
    })

    it('when an option is out of range, answers 400 naming it', async () => {
      const { res, body } = await send({
        name: 'noop',
        data: {},
        options: { priority: 0, attempts: 1000 },
      })

      expect(res.status).toBe(400)
      expect(body.errors?.map((e) => e.path).sort()).toEqual([
        'options.attempts',
        'options.priority',
      ])
    })

    it('when the body is larger than MAX_JOB_BYTES, answers 413 and enqueues nothing', async () => {
      const { res, body } = await send({
        name: 'email.send',
        data: { ...email, body: 'x'.repeat(70_000) },
      })

      expect(res.status).toBe(413)
      expect(body.code).toBe('payload_too_large')
      expect(await waitingCount()).toBe(0)
    })

    it('when the body is not JSON, answers 400 malformed_json', async () => {
      const res = await t.app.request('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":',
      })

      expect(res.status).toBe(400)
      expect(((await res.json()) as Problem).code).toBe('malformed_json')
    })
  })

  describe('POST /api/jobs with an Idempotency-Key', () => {
    it('when the same key is sent twice, the second answer is 200 duplicate of the first job', async () => {
      const first = await send(
        { name: 'email.send', data: email },
        { 'idempotency-key': 'signup-1' }
      )
      const second = await send(
        { name: 'email.send', data: email },
        { 'idempotency-key': 'signup-1' }
      )

      expect(first.res.status).toBe(201)
      expect(second.res.status).toBe(200)
      expect(second.body).toMatchObject({ id: first.body.id, duplicate: true })
      expect(await waitingCount()).toBe(1)
    })

    it('when 100 requests with one key arrive at once, one job exists and 99 answers say duplicate', async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          send({ name: 'noop', data: {} }, { 'idempotency-key': 'burst-1' })
        )
      )

      expect(new Set(results.map((r) => r.body.id)).size).toBe(1)
      expect(results.filter((r) => r.res.status === 201)).toHaveLength(1)
      expect(results.filter((r) => r.body.duplicate)).toHaveLength(99)
      expect(await waitingCount()).toBe(1)
    })

    it('when a key is reused for another payload, answers 422 naming the header', async () => {
      await send({ name: 'email.send', data: email }, { 'idempotency-key': 'reused-1' })

      const { res, body } = await send(
        { name: 'email.send', data: { ...email, to: 'bob@example.com' } },
        { 'idempotency-key': 'reused-1' }
      )

      expect(res.status).toBe(422)
      expect(body.code).toBe('idempotency_key_reused')
      expect(body.errors?.[0]?.path).toBe('idempotency-key')
    })
  })

  describe('POST /api/jobs with deduplication', () => {
    it('when a second job has the same deduplication id within its window, the first is kept', async () => {
      const options = { deduplication: { id: 'report-9', mode: 'throttle', ttlMs: 60_000 } }
      const first = await send({ name: 'noop', data: {}, options })
      const second = await send({ name: 'noop', data: {}, options })

      expect(first.res.status).toBe(201)
      expect(second.res.status).toBe(200)
      expect(second.body).toMatchObject({ id: first.body.id, deduplicated: true })
      expect(await waitingCount()).toBe(1)
    })

    it('when throttle has no window, answers 400 naming options.deduplication.ttlMs', async () => {
      const { res, body } = await send({
        name: 'noop',
        data: {},
        options: { deduplication: { id: 'x', mode: 'throttle' } },
      })

      expect(res.status).toBe(400)
      expect(body.errors?.map((e) => e.path)).toEqual(['options.deduplication.ttlMs'])
    })

    it('when debounced, the last payload within the window replaces the waiting one', async () => {
      const options = {
        delayMs: 30_000,
        deduplication: { id: 'typing-1', mode: 'debounce', ttlMs: 30_000 },
      }
      await send({ name: 'demo.simulate', data: { durationMs: 1 }, options })
      const last = await send({ name: 'demo.simulate', data: { durationMs: 2 }, options })

      const delayed = await t.service.queue.getDelayed()
      expect(delayed).toHaveLength(1)
      expect(delayed[0]?.id).toBe(last.body.id)
      expect(delayed[0]?.data).toEqual({ durationMs: 2, failTimes: 0, failPermanently: false })
    })
  })

  describe('POST /api/jobs with a tenant', () => {
    it('when fair scheduling is on, the job waits in its tenant’s backlog and GET says queued', async () => {
      const { res, body } = await send({ name: 'noop', data: {}, tenant: 'acme' })
      const view = await t.app.request(`/api/jobs/${body.id}`)

      expect(res.status).toBe(201)
      expect(body.state).toBe('queued')
      expect(await view.json()).toMatchObject({ id: body.id, state: 'queued', tenant: 'acme' })
      expect(await t.service.fair.backlog()).toBe(1)
      expect(await t.service.fair.cancel(body.id)).toBe(true)
    })

    it('when the tenant name has other characters, answers 400 naming "tenant"', async () => {
      const { res, body } = await send({ name: 'noop', data: {}, tenant: 'acme corp/1' })

      expect(res.status).toBe(400)
      expect(body.errors?.map((e) => e.path)).toEqual(['tenant'])
    })
  })

  describe('POST /api/jobs/bulk', () => {
    it('when every job is valid, answers 201 with each outcome in order', async () => {
      const jobs = Array.from({ length: 50 }, (_, i) => ({
        name: 'email.send',
        data: { ...email, subject: `#${i}` },
      }))

      const res = await t.app.request(post('/api/jobs/bulk', { jobs }))
      const body = (await res.json()) as { jobs: Enqueued[] }

      expect(res.status).toBe(201)
      expect(body.jobs).toHaveLength(50)
      const stored = await Promise.all(body.jobs.map((j) => t.service.queue.getJob(j.id)))
      expect(stored.map((job) => (job?.data as { subject: string }).subject)).toEqual(
        jobs.map((j) => j.data.subject)
      )
    })

    it('when one job is invalid, answers 400 naming it and enqueues none of them', async () => {
      const jobs = [
        { name: 'email.send', data: email },
        { name: 'email.send', data: { ...email, to: 'nope' } },
      ]

      const res = await t.app.request(post('/api/jobs/bulk', { jobs }))

      expect(res.status).toBe(400)
      expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toEqual(['jobs.1.data.to'])
      expect(await waitingCount()).toBe(0)
    })

    it('when a job of the batch carries an idempotency key sent before, that one answers duplicate', async () => {
      const first = await send({ name: 'noop', data: {} }, { 'idempotency-key': 'bulk-k' })

      const res = await t.app.request(
        post('/api/jobs/bulk', {
          jobs: [
            { name: 'noop', data: {}, idempotencyKey: 'bulk-k' },
            { name: 'noop', data: {} },
          ],
        })
      )
      const body = (await res.json()) as { jobs: Enqueued[] }

      expect(body.jobs[0]).toMatchObject({ id: first.body.id, duplicate: true })
      expect(body.jobs[1]?.duplicate).toBe(false)
      expect(await waitingCount()).toBe(2)
    })

    it('when the batch mixes plain, deduplicated and delayed jobs, each answers in its place', async () => {
      const dedup = { deduplication: { id: 'bulk-d', mode: 'throttle', ttlMs: 60_000 } }
      const first = await send({ name: 'noop', data: {}, options: dedup })

      const res = await t.app.request(
        post('/api/jobs/bulk', {
          jobs: [
            { name: 'noop', data: {} },
            { name: 'noop', data: {}, options: dedup },
            { name: 'noop', data: {}, options: { delayMs: 60_000 } },
          ],
        })
      )
      const body = (await res.json()) as { jobs: Enqueued[] }

      expect(res.status).toBe(201)
      expect(body.jobs.map((j) => [j.state, j.deduplicated])).toEqual([
        ['waiting', false],
        ['waiting', true],
        ['delayed', false],
      ])
      expect(body.jobs[1]?.id).toBe(first.body.id)
      expect(new Set(body.jobs.map((j) => j.id)).size).toBe(3)
      expect(await waitingCount()).toBe(3)
    })

    it('when the batch has more jobs than MAX_BULK_JOBS, answers 400 naming "jobs"', async () => {
      const jobs = Array.from({ length: 1001 }, () => ({ name: 'noop', data: {} }))

      const res = await t.app.request(post('/api/jobs/bulk', { jobs }))

      expect(res.status).toBe(400)
      expect(((await res.json()) as Problem).errors?.map((e) => e.path)).toEqual(['jobs'])
    })
  })

  describe('GET /api/jobs/{id}', () => {
    it('when the job ran, answers its state, attempts, progress and result', async () => {
      const { body } = await send({
        name: 'report.render',
        data: { reportId: 'r1', pages: 3, msPerPage: 0 },
      })
      const connection = testClient(redisUrlOf(target))
      const worker = new Worker(
        t.config.QUEUE_NAME,
        async (job) => {
          await job.updateProgress(100)
          return { pages: 3 }
        },
        { connection, prefix: t.config.QUEUE_PREFIX }
      )
      await new Promise((resolve) => worker.once('completed', resolve))
      await worker.close()
      await connection.quit()

      const res = await t.app.request(`/api/jobs/${body.id}`)

      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        id: body.id,
        name: 'report.render',
        state: 'completed',
        progress: 100,
        attemptsMade: 1,
        attempts: 3,
        result: { pages: 3 },
      })
    })

    it('when no job has the id, answers 404 job_not_found', async () => {
      const res = await t.app.request('/api/jobs/no-such-job')

      expect(res.status).toBe(404)
      expect(((await res.json()) as Problem).code).toBe('job_not_found')
    })
  })

  describe('DELETE /api/jobs/{id}', () => {
    it('when the job has not started, answers 200 cancelled and the job is gone', async () => {
      const { body } = await send({ name: 'noop', data: {}, options: { delayMs: 60_000 } })

      const res = await t.app.request(`/api/jobs/${body.id}`, { method: 'DELETE' })

      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ id: body.id, status: 'cancelled' })
      expect(await t.service.queue.getJob(body.id)).toBeUndefined()
    })

    it('when the job waits in its tenant’s backlog, it is removed from there', async () => {
      const { body } = await send({ name: 'noop', data: {}, tenant: 'acme' })

      const res = await t.app.request(`/api/jobs/${body.id}`, { method: 'DELETE' })

      expect(res.status).toBe(200)
      expect((await t.app.request(`/api/jobs/${body.id}`)).status).toBe(404)
    })

    it('when no job has the id, answers 404', async () => {
      expect((await t.app.request('/api/jobs/nothing-here', { method: 'DELETE' })).status).toBe(404)
    })
  })

  describe('admin routes without the admin key', () => {
    it.each([
      ['POST', '/api/queue/pause'],
      ['PUT', '/api/queue/limits'],
      ['PUT', '/api/schedulers/nightly'],
      ['DELETE', '/api/dead-letters'],
      ['POST', '/api/dead-letters/x/replay'],
    ])('when %s %s has no key, answers 401 with a Basic challenge', async (method, path) => {
      const res = await t.app.request(path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })

      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /)
    })

    it('when the key is wrong, answers 401; when right (Bearer or Basic), the route runs', async () => {
      const wrong = await t.app.request('/api/queue/pause', {
        method: 'POST',
        headers: { authorization: 'Bearer nope' },
      })
      const bearer = await t.app.request('/api/queue/resume', { method: 'POST', headers: admin })
      const basic = await t.app.request('/api/queue/resume', {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`ops:${'test-admin-key-0123456789'}`).toString('base64')}`,
        },
      })

      expect(wrong.status).toBe(401)
      expect(bearer.status).toBe(200)
      expect(basic.status).toBe(200)
    })
  })
})
