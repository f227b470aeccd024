import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SandboxedWorker } from './sandboxed-worker.ts'
import type { TimeoutOptions } from './job-timeout.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
afterAll(() => connection.quit())

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A file path of the test's own, removed after it. */
function tempFile(label: string): string {
  const path = join(tmpdir(), `sandboxed-worker-${label}-${randomUUID()}`)
  cleanups.push(() => rmSync(path, { force: true }))
  return path
}

/** A queue and a SandboxedWorker (concurrency 1) running the spinning fixture processor. */
function start(timeouts: TimeoutOptions<Job>) {
  const name = `sandboxed-${randomUUID()}`
  const queue = new Queue(name, { connection })
  const worker = new SandboxedWorker(
    name,
    new URL('./spin-processor.fixture.mjs', import.meta.url),
    { connection, timeouts }
  )
  cleanups.push(async () => {
    await worker.close()
    await queue.obliterate({ force: true })
    await queue.close()
  })
  const settled = (id: string) =>
    new Promise<{ result?: number; error?: Error; job?: Job }>((resolve) => {
      worker.on('completed', (job, result: number) => job.id === id && resolve({ result, job }))
      worker.on('failed', (job, error) => job?.id === id && resolve({ error, job }))
    })
  return { queue, worker, settled }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('SandboxedWorker', () => {
  it('when a job deaf to its signal runs past its deadline, its child is killed: the job fails then and its work never finishes', async () => {
    const { queue, settled } = start({ timeoutMs: 300, retryOnTimeout: false })
    const startedFile = tempFile('started')
    const doneFile = tempFile('done')

    const job = await queue.add('spin', { startedFile, spinMs: 1500, doneFile }, { attempts: 3 })
    const { error } = await settled(job.id!)
    const killedPid = Number(readFileSync(startedFile, 'utf8'))
    // Past the end the loop would have reached (it started before the deadline fired).
    await sleep(1500)

    expect(error?.message).toBe('job timed out after 300 ms')
    // Not retryable: one attempt of three, failed for good.
    expect(await job.getState()).toBe('failed')
    expect((await queue.getJob(job.id!))?.attemptsMade).toBe(1)
    expect(existsSync(doneFile)).toBe(false)
    expect(killedPid).not.toBe(process.pid)
    expect(isAlive(killedPid)).toBe(false)
  })

  it('when a job times out, the next one runs in a fresh child; jobs within their deadline share one', async () => {
    const { queue, settled } = start({ timeoutMs: (job) => (job.data as { ms: number }).ms })
    const startedFile = tempFile('started')

    const slow = await queue.add('spin', { startedFile, spinMs: 5000, ms: 300 })
    await settled(slow.id!)
    const killedPid = Number(readFileSync(startedFile, 'utf8'))
    const first = await queue.add('spin', { ms: 10_000 })
    const firstRan = await settled(first.id!)
    const second = await queue.add('spin', { ms: 10_000 })
    const secondRan = await settled(second.id!)

    expect(firstRan.result).toEqual(expect.any(Number))
    expect([process.pid, killedPid]).not.toContain(firstRan.result)
    // The pool hands a child that finished in time to the next job, as BullMQ does.
    expect(secondRan.result).toBe(firstRan.result)
  })
})
