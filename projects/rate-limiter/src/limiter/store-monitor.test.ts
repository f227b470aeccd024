import { describe, expect, it, onTestFinished } from 'vitest'
import { StoreUnavailableError } from './errors.ts'
import { createStoreMonitor, type StoreState } from './store-monitor.ts'

const TIMEOUT_MS = 30

/** A store reached over the event loop: answers in the next check phase unless `frozen`. */
function fakeStore() {
  const store = { frozen: false, connected: true, pings: 0, held: [] as (() => void)[] }
  const answer = <T>(value: T): Promise<T> =>
    new Promise<T>((resolve) => {
      const reply = () => setImmediate(() => resolve(value))
      if (store.frozen) store.held.push(reply)
      else reply()
    })
  return {
    store,
    call: <T>(value: T) => answer(value),
    ping: () => {
      store.pings++
      return store.connected ? answer('PONG') : Promise.reject(new Error('Connection is closed.'))
    },
    resume: () => {
      store.frozen = false
      for (const reply of store.held.splice(0)) reply()
    },
  }
}

function setup() {
  const fake = fakeStore()
  const changes: StoreState[] = []
  const monitor = createStoreMonitor({
    ping: fake.ping,
    connected: () => fake.store.connected,
    timeoutMs: TIMEOUT_MS,
    onChange: (state) => changes.push(state),
  })
  onTestFinished(() => monitor.close())
  return { ...fake, monitor, changes }
}

function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe('createStoreMonitor', () => {
  it('when calls are answered in time, stays up without a single ping', async () => {
    const { monitor, store, call } = setup()

    const values = await Promise.all([1, 2, 3].map((n) => monitor.watch(call(n))))

    expect(values).toEqual([1, 2, 3])
    expect(monitor.state).toBe('up')
    expect(store.pings).toBe(0)
  })

  it('when this process is busy for several timeouts while the store answers, stays up and every call gets its answer', async () => {
    const { monitor, call, changes } = setup()

    const pending = [1, 2, 3].map((n) => monitor.watch(call(n)))
    busy(TIMEOUT_MS * 5)
    const values = await Promise.all(pending)

    expect(values).toEqual([1, 2, 3])
    expect(changes).toEqual([])
  })

  it('when the store is slow but keeps answering other calls, waits for the slow call', async () => {
    const { monitor, call, store, resume } = setup()
    store.frozen = true
    const slow = monitor.watch(call('slow'))
    store.frozen = false
    // Other calls keep being answered while the slow one waits three timeouts.
    const others = setInterval(() => void monitor.watch(call('other')), TIMEOUT_MS / 3)
    onTestFinished(() => clearInterval(others))
    setTimeout(resume, TIMEOUT_MS * 3)

    expect(await slow).toBe('slow')
    expect(monitor.state).toBe('up')
  })

  it('when the store answers neither a call nor the ping after it, goes down, abandons every waiting call, and comes back once a ping is answered', async () => {
    const { monitor, call, store, resume, changes } = setup()
    store.frozen = true

    const outcomes = await Promise.allSettled([monitor.watch(call(1)), monitor.watch(call(2))])
    const availableWhileDown = monitor.available()
    resume()
    await expect.poll(() => monitor.state).toBe('up')

    expect(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as unknown) : o.value))
    ).toEqual([expect.any(StoreUnavailableError), expect.any(StoreUnavailableError)])
    expect(availableWhileDown).toBe(false)
    expect(changes).toEqual(['down', 'up'])
  })

  it('when the connection is not ready, is unavailable at once, and up again once connected and answering', async () => {
    const { monitor, store } = setup()
    store.connected = false

    const available = monitor.available()
    const stateAfter = monitor.state
    store.connected = true
    await expect.poll(() => monitor.state).toBe('up')

    expect(available).toBe(false)
    expect(stateAfter).toBe('down')
  })

  it('when checked (readiness), says whether the store answers a ping now', async () => {
    const { monitor, store } = setup()

    const healthy = await monitor.check()
    store.frozen = true
    const frozen = await monitor.check()

    expect(healthy).toBe(true)
    expect(frozen).toBe(false)
    expect(monitor.state).toBe('down')
  })
})
