import type { Outbox, OutboxMessage } from './outbox.ts'

export type OutboxRelayOptions = {
  outbox: Outbox
  /** Publishes a batch, in order; throws if the broker did not take all of it. */
  publish: (messages: OutboxMessage[]) => Promise<void>
  batchSize?: number
  /** How often an idle relay looks again (a `wake()` after each append makes it sooner). */
  pollMs?: number
  /** First wait after a failed publish; doubled per failure up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  /** A publish failed; the batch stays in the outbox and is tried again. */
  onError?: (error: unknown, batch: OutboxMessage[]) => void
  /** A batch was published; `lagMs` is how long its oldest message waited. */
  onRelayed?: (batch: OutboxMessage[], lagMs: number) => void
  now?: () => number
}

export type OutboxRelay = {
  /** Look at the outbox now (call it after a transaction that appended). */
  wake(): void
  /** Resolves once the outbox was seen empty after this call (for tests and shutdown). */
  drained(): Promise<void>
  /** Stops after the batch in flight, if any. */
  close(): Promise<void>
  /** The last failed publish, cleared by the next success. */
  readonly failing: boolean
}

/**
 * The relay of a transactional outbox: one loop that publishes the oldest pending batch, marks
 * it relayed, and goes on until the outbox is empty; then it sleeps until `wake()` or `pollMs`.
 * When `publish` throws (the broker is down), the batch stays where it is and the loop waits,
 * longer each time, then tries the same batch again, so order is kept and nothing is skipped.
 *
 * @example
 * ```ts
 * const relay = startOutboxRelay({
 *   outbox,
 *   publish: async (batch) => { await queue.addBulk(batch.map((m) => ({ name: m.topic, data: m.payload, opts: { jobId: `m${m.id}` } }))) },
 *   onError: (err) => logger.warn({ err }, 'broker down: the outbox holds the events'),
 * })
 * ```
 */
export function startOutboxRelay({
  outbox,
  publish,
  batchSize = 100,
  pollMs = 1000,
  backoffMs = 100,
  maxBackoffMs = 5000,
  onError,
  onRelayed,
  now = Date.now,
}: OutboxRelayOptions): OutboxRelay {
  let running = true
  let failing = false
  let wakeUp: (() => void) | undefined
  let pendingWake = false
  const waiters: (() => void)[] = []

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake) {
        pendingWake = false
        resolve()
        return
      }
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        wakeUp = undefined
        resolve()
      }
      wakeUp = done
    })

  async function loop() {
    let delay = backoffMs
    while (running) {
      const batch = outbox.pending(batchSize)
      if (batch.length === 0) {
        for (const resolve of waiters.splice(0)) resolve()
        await sleep(pollMs)
        continue
      }
      try {
        await publish(batch)
        outbox.markRelayed(batch.map((message) => message.id))
        failing = false
        delay = backoffMs
        onRelayed?.(batch, now() - batch[0]!.createdAt)
      } catch (error) {
        failing = true
        onError?.(error, batch)
        await sleep(delay)
        delay = Math.min(delay * 2, maxBackoffMs)
      }
    }
    for (const resolve of waiters.splice(0)) resolve()
  }

  function wake() {
    if (wakeUp) wakeUp()
    else pendingWake = true
  }

  const done = loop()
  return {
    wake,
    drained() {
      return new Promise((resolve) => {
        waiters.push(resolve)
        wake()
      })
    },
    async close() {
      running = false
      wakeUp?.()
      await done
    },
    get failing() {
      return failing
    },
  }
}
