/**
 * /metrics as Prometheus scrapes it: the API's (BullMQ's exporter for the queue, the dead-letter
 * and backlog gauges) and a worker's (WORKER_PORT: attempts by outcome, durations, waits), after
 * jobs that completed, were retried, died, wait, and wait in a tenant's backlog.
 */
import { freePort } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, post, startWorker, type TestApp, type WorkerProcess } from './helpers.ts'

type Sample = { name: string; labels: Record<string, string>; value: number }

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const cut = line.lastIndexOf(' ')
      const series = line.slice(0, cut)
      const brace = series.indexOf('{')
      const name = brace === -1 ? series : series.slice(0, brace)
      const labels = Object.fromEntries(
        [...series.slice(brace + 1).matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v])
      )
      return { name, labels: brace === -1 ? {} : labels, value: Number(line.slice(cut + 1)) }
    })
}

/** The value of the one sample named `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  }
  return found[0]!.value
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('/metrics after a run', () => {
  let t: TestApp
  let worker: WorkerProcess
  let workerPort: number

  beforeAll(async () => {
    t = await buildTestApp({ metrics: true })
    workerPort = await freePort()
    worker = await startWorker({
      REDIS_URL: process.env.REDIS_URL!,
      QUEUE_NAME: t.config.QUEUE_NAME,
      WORKER_CONCURRENCY: '5',
      WORKER_PORT: String(workerPort),
      DEAD_LETTER_SWEEP_MS: '1000',
    })
  })
  afterAll(async () => {
    await worker.stop()
    await t.close()
  })

  async function enqueue(body: object): Promise<string> {
    const res = await t.app.request(post('/api/jobs', body))
    expect(res.status).toBe(201)
    return ((await res.json()) as { id: string }).id
  }

  async function stateOf(id: string): Promise<string> {
    return ((await (await t.app.request(`/api/jobs/${id}`)).json()) as { state: string }).state
  }

  async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(50)
    }
  }

  async function scrapeWorker(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${workerPort}/metrics`)
    expect(res.status).toBe(200)
    return parse(await res.text())
  }

  it('when jobs completed, retried, died and wait, the API and the worker count each of them', async () => {
    // 3 completed noops, 1 job completed on its second attempt, 2 dead after one attempt.
    const finished = await Promise.all([
      ...[1, 2, 3].map(() => enqueue({ name: 'noop', data: {} })),
      enqueue({
        name: 'demo.simulate',
        data: { failTimes: 1 },
        options: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
      }),
    ])
    const dead = await Promise.all(
      [1, 2].map(() => enqueue({ name: 'demo.simulate', data: { failPermanently: true } }))
    )
    await until(
      async () =>
        (await Promise.all(finished.map(stateOf))).every((s) => s === 'completed') &&
        (await Promise.all(dead.map(stateOf))).every((s) => s === 'dead'),
      'the jobs to finish'
    )
    // The worker counts in its own process, on BullMQ's events: poll until they are all in.
    const expectedProcessed = {
      noop: { completed: 3 },
      'demo.simulate': { completed: 1, retried: 1, failed: 2 },
    }
    let workerSamples: Sample[] = []
    await until(async () => {
      workerSamples = await scrapeWorker()
      return (
        workerSamples.filter((s) => s.name === 'task_queue_jobs_processed_total').length === 4 &&
        value(workerSamples, 'task_queue_jobs_processed_total', {
          name: 'demo.simulate',
          outcome: 'failed',
        }) === 2
      )
    }, 'the worker to count every attempt')

    // Stopped: what comes next waits, in the queue and in a tenant's backlog.
    await worker.stop()
    await Promise.all([1, 2, 3, 4].map(() => enqueue({ name: 'noop', data: {} })))
    await Promise.all(['a', 'a', 'b'].map((tenant) => enqueue({ name: 'noop', data: {}, tenant })))
    const res = await t.app.request('/metrics')
    const api = parse(await res.text())

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const queue = t.config.QUEUE_NAME
    expect(value(api, 'bullmq_job_count', { queue, state: 'completed' })).toBe(4)
    expect(value(api, 'bullmq_job_count', { queue, state: 'waiting' })).toBe(4)
    expect(value(api, 'bullmq_job_count', { queue, state: 'active' })).toBe(0)
    // Dead jobs leave the queue's failed set for the dead-letter queue.
    expect(value(api, 'bullmq_job_count', { queue, state: 'failed' })).toBe(0)
    expect(value(api, 'bullmq_job_completed_total', { queue })).toBe(4)
    expect(value(api, 'bullmq_job_failed_total', { queue })).toBe(2)
    expect(value(api, 'task_queue_dead_letters')).toBe(2)
    expect(value(api, 'task_queue_backlog_jobs')).toBe(3)

    for (const [name, outcomes] of Object.entries(expectedProcessed)) {
      for (const [outcome, count] of Object.entries(outcomes)) {
        expect(
          value(workerSamples, 'task_queue_jobs_processed_total', { name, outcome }),
          `${name} ${outcome}`
        ).toBe(count)
      }
    }
    expect(value(workerSamples, 'task_queue_jobs_active')).toBe(0)
    expect(value(workerSamples, 'task_queue_job_duration_seconds_count', { name: 'noop' })).toBe(3)
    // Attempts: 1 + 2 + 1 + 1 of demo.simulate; waits: first attempts only.
    expect(
      value(workerSamples, 'task_queue_job_duration_seconds_count', { name: 'demo.simulate' })
    ).toBe(4)
    expect(
      value(workerSamples, 'task_queue_job_wait_seconds_count', { name: 'demo.simulate' })
    ).toBe(3)
    expect(value(workerSamples, 'task_queue_job_wait_seconds_count', { name: 'noop' })).toBe(3)
  }, 90_000)
})
