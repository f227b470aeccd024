import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { onceEvent, waitFor, WaitTimeoutError } from './wait.ts'

describe('waitFor()', () => {
  it('when the check becomes truthy, resolves with its value', async () => {
    let calls = 0

    const value = await waitFor(() => (++calls >= 3 ? 'ready' : null), { intervalMs: 1 })

    expect(value).toBe('ready')
    expect(calls).toBe(3)
  })

  it('when the check never passes, rejects after timeoutMs with the message', async () => {
    const started = performance.now()

    const result = waitFor(() => false, { timeoutMs: 100, message: 'queue never drained' })

    await expect(result).rejects.toThrow(WaitTimeoutError)
    await expect(result).rejects.toThrow('queue never drained (waited 100 ms)')
    expect(performance.now() - started).toBeGreaterThanOrEqual(95)
  })

  it('when the check keeps throwing, keeps polling and reports the last error as cause', async () => {
    const result = waitFor(
      () => {
        throw new Error('connection refused')
      },
      { timeoutMs: 50 }
    )

    const error = await result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WaitTimeoutError)
    expect((error as Error).cause).toEqual(new Error('connection refused'))
  })
})

describe('onceEvent()', () => {
  it('when the event fires, resolves with its arguments', async () => {
    const emitter = new EventEmitter()

    const pending = onceEvent(emitter, 'message')
    emitter.emit('message', 'channel', 'hello')

    expect(await pending).toEqual(['channel', 'hello'])
  })

  it('when the event does not fire in time, rejects naming the event', async () => {
    const emitter = new EventEmitter()

    const pending = onceEvent(emitter, 'completed', 50)

    await expect(pending).rejects.toThrow("No 'completed' event within 50 ms")
  })
})
