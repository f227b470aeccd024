import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { effectKeys } from '../src/jobs/processors.ts'
import {
  buildTestApp,
  post,
  redisUrlOf,
  startWorker,
  TARGETS,
  testClient,
  type TestApp,
  type WorkerProcess,
} from './helpers.ts'

type View = {
  id: string
  state: string
  attemptsMade: number
  failedReason?: string
  result?: unknown
  progress: unknown
}

describe.each(TARGETS)('a worker process on %s Redis', (target) => {
  let t: TestApp
  let worker: WorkerProcess
  let sandboxed: WorkerProcess
  let sandboxApp: TestApp
  const redisUrl = redisUrlOf(target)
  const client = testClient(redisUrl)

  beforeAll(async () => {
    t = await buildTestApp({ redisUrl })
    sandboxApp = await buildTestApp({ redisUrl })
    const env = { REDIS_URL: redisUrl, WORKER_CONCURRENCY: '5', DEAD_LETTER_SWEEP_MS: '1000' }
    ;[worker, sandboxed] = await Promise.all([
      startWorker({ ...env, QUEUE_NAME: t.config.QUEUE_NAME }),
      startWorker({
        ...env,
        QUEUE_NAME: sandboxApp.config.QUEUE_NAME,
        PROCESSOR_MODE: 'sandboxed',
      }),
    ])
  })
  afterAll(async () => {
    await Promise.all([worker.stop(), sandboxed.stop()])
    await Promise.all([t.close(), sandboxApp.close()])
    client.disconnect()
  })

  async function enqueue(app: TestApp, body: object): Promise<string> {
    const res = await app.app.request(post('/api/jobs', body))
    expect(res.status).toBe(201)
    return ((await res.json()) as { id: string }).id
  }

  /** Polls GET /api/jobs/{id} until the job is in one of `states`. */
  async function until(
    app: TestApp,
    id: string,
    states: string[],
    timeoutMs = 20_000
  ): Promise<View> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const view = (await (await app.app.request(`/api/jobs/${id}`)).json()) as View
      if (states.includes(view.state)) return view
      if (Date.now() > deadline)
        throw new Error(`job ${id} is ${view.state}, not ${states.join('|')}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  it('when an email job runs, it completes and writes its outbox entry once', async () => {
    const id = await enqueue(t, {
      name: 'email.send',
      data: { to: 'ada@example.com', subject: 'Hi', body: '…' },
    })

    const view = await until(t, id, ['completed'])

    expect(view.result).toEqual({ outbox: 'written' })
    const entries = await client.xrange(effectKeys(t.config.QUEUE_NAME).outboxKey, '-', '+')
    expect(entries.filter(([, fields]) => fields[1] === id)).toHaveLength(1)
  })

  it('when a job fails twice then succeeds, it completes on the third attempt', async () => {
    const id = await enqueue(t, {
      name: 'demo.simulate',
      data: { failTimes: 2 },
      options: { attempts: 3, backoff: { type: 'fixed', delayMs: 50 } },
    })

    const view = await until(t, id, ['completed', 'dead'])

    expect(view.state).toBe('completed')
    expect(view.attemptsMade).toBe(3)
  })

  it('when a job throws UnrecoverableError, it is dead after one attempt', async () => {
    const id = await enqueue(t, {
      name: 'demo.simulate',
      data: { failPermanently: true },
      options: { attempts: 5 },
    })

    const view = await until(t, id, ['dead'])

    expect(view).toMatchObject({ attemptsMade: 1, failedReason: 'simulated permanent failure' })
  })

  it('when a job exhausts its retries, it moves to the dead-letter queue with the last reason', async () => {
    const id = await enqueue(t, {
      name: 'demo.simulate',
      data: { failTimes: 9 },
      options: { attempts: 2, backoff: { type: 'full-jitter', delayMs: 50 } },
    })

    const view = await until(t, id, ['dead'])

    expect(view).toMatchObject({ attemptsMade: 2, failedReason: 'simulated failure 2 of 9' })
  })

  it('when a job runs past its deadline, each attempt is aborted and its effect never happens', async () => {
    const id = await enqueue(t, {
      name: 'demo.simulate',
      data: { durationMs: 10_000 },
      options: { timeoutMs: 300, attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
    })

    const view = await until(t, id, ['dead'])

    expect(view).toMatchObject({ attemptsMade: 2, failedReason: 'job timed out after 300 ms' })
    expect(await client.hget(effectKeys(t.config.QUEUE_NAME).simulatedKey, id)).toBeNull()
  })

  it('when a running job is cancelled, DELETE answers 202 and the job fails cancelled, not dead', async () => {
    const id = await enqueue(t, { name: 'demo.simulate', data: { durationMs: 20_000 } })
    await until(t, id, ['active'])

    const res = await t.app.request(`/api/jobs/${id}`, { method: 'DELETE' })
    const view = await until(t, id, ['failed', 'dead'])

    expect(res.status).toBe(202)
    expect(view, JSON.stringify(view)).toMatchObject({ state: 'failed' })
    expect(view.failedReason).toBe('job cancelled: cancelled through the API')
    expect(view.attemptsMade).toBe(1)
  })

  it('when a report renders, its progress reaches 100 and the result comes back', async () => {
    const id = await enqueue(t, {
      name: 'report.render',
      data: { reportId: 'q3', pages: 10, msPerPage: 5 },
    })

    const view = await until(t, id, ['completed'])

    expect(view).toMatchObject({ progress: 100, result: { reportId: 'q3', pages: 10 } })
  })

  it('when jobs carry a tenant, the dispatcher feeds them to the queue and they complete', async () => {
    const ids = await Promise.all(
      ['a', 'b', 'a', 'c'].map((tenant) => enqueue(t, { name: 'noop', data: {}, tenant }))
    )

    const views = await Promise.all(ids.map((id) => until(t, id, ['completed'])))

    expect(views.map((v) => v.state)).toEqual(['completed', 'completed', 'completed', 'completed'])
    expect(await t.service.fair.backlog()).toBe(0)
  })

  it('when the processor is sandboxed, jobs run in a child process, with progress, and one past its deadline is killed with its work', async () => {
    const report = await enqueue(sandboxApp, {
      name: 'report.render',
      data: { reportId: 's', pages: 4, msPerPage: 5 },
    })
    // A CPU loop deaf to its signal: only killing its process stops it before its effect.
    const spinning = await enqueue(sandboxApp, {
      name: 'demo.simulate',
      data: { durationMs: 1500, busy: true },
      options: { timeoutMs: 300, attempts: 1 },
    })
    const inProcess = await enqueue(t, { name: 'demo.simulate', data: {} })

    // Generous: each child process loads the processors under tsx on a busy machine.
    const [done, dead, here] = await Promise.all([
      until(sandboxApp, report, ['completed'], 45_000),
      until(sandboxApp, spinning, ['dead'], 45_000),
      until(t, inProcess, ['completed']),
    ])
    // Past the end of the loop, which started before its deadline fired.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const inChild = await until(
      sandboxApp,
      await enqueue(sandboxApp, { name: 'demo.simulate', data: {} }),
      ['completed'],
      45_000
    )

    expect(done).toMatchObject({ progress: 100, result: { reportId: 's', pages: 4 } })
    const pidOf = (view: View) => (view.result as { pid: number }).pid
    expect(pidOf(here)).toBe(worker.pid)
    expect(pidOf(inChild)).toEqual(expect.any(Number))
    expect([sandboxed.pid, process.pid]).not.toContain(pidOf(inChild))
    expect(dead.failedReason).toBe('job timed out after 300 ms')
    const { simulatedKey } = effectKeys(sandboxApp.config.QUEUE_NAME)
    expect(await client.hget(simulatedKey, spinning)).toBeNull()
  }, 120_000)
})
