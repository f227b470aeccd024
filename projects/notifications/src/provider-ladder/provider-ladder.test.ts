import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AllProvidersOpenError,
  createProviderLadder,
  LadderExhaustedError,
  PermanentError,
  type BreakerState,
  type Provider,
} from './provider-ladder.ts'

// Providers are real HTTP servers on the loopback; each counts the calls it receives and answers
// as scripted. The breaker's clock (Date) is faked to skip its open period without sleeping.
type Script = { status: number; hold?: boolean }
const servers: Server[] = []

afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(
    servers
      .splice(0)
      .map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve))))
  )
})

async function httpProvider(name: string, script: Script = { status: 200 }) {
  const state = { calls: 0, script, held: [] as (() => void)[] }
  const server = createServer((req, res) => {
    state.calls++
    req.resume()
    const answer = () => res.writeHead(state.script.status).end()
    if (state.script.hold) state.held.push(answer)
    else answer()
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`
  const provider: Provider<string, number> = {
    name,
    async send(message, signal) {
      const res = await fetch(url, { method: 'POST', body: message, signal })
      if (res.status >= 400 && res.status < 500) throw new PermanentError(`${name}: ${res.status}`)
      if (!res.ok) throw new Error(`${name}: ${res.status}`)
      return res.status
    },
  }
  return { state, provider }
}

describe('createProviderLadder()', () => {
  it('when the primary works, only the primary is called', async () => {
    const primary = await httpProvider('primary')
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({ providers: [primary.provider, backup.provider] })

    const result = await ladder.send('hello')

    expect(result).toMatchObject({ provider: 'primary', failed: [] })
    expect([primary.state.calls, backup.state.calls]).toEqual([1, 0])
  })

  it('when the primary fails, the backup delivers; after 5 failures the primary breaker opens and gets 0 calls', async () => {
    const primary = await httpProvider('primary', { status: 503 })
    const backup = await httpProvider('backup')
    const changes: [string, BreakerState][] = []
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      halfOpenAfterMs: 60_000,
      onStateChange: (name, state) => changes.push([name, state]),
    })

    for (let i = 0; i < 5; i++) expect((await ladder.send(`m${i}`)).provider).toBe('backup')
    expect(ladder.states()).toEqual({ primary: 'open', backup: 'closed' })
    for (let i = 0; i < 20; i++) expect((await ladder.send(`n${i}`)).provider).toBe('backup')

    expect(primary.state.calls).toBe(5)
    expect(backup.state.calls).toBe(25)
    expect(changes).toEqual([['primary', 'open']])
  })

  it('when the open period ends, exactly one probe reaches the primary even under 10 concurrent sends, and its success closes the breaker', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const primary = await httpProvider('primary', { status: 503 })
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      halfOpenAfterMs: 30_000,
    })
    for (let i = 0; i < 5; i++) await ladder.send(`m${i}`)
    expect(ladder.states().primary).toBe('open')

    primary.state.script = { status: 200, hold: true }
    vi.setSystemTime(Date.now() + 30_001)
    const intents: string[] = []
    const sends = Array.from({ length: 10 }, (_, i) =>
      ladder.send(`p${i}`, {
        beforeCall: async (name) => {
          await Promise.resolve()
          intents.push(name)
        },
      })
    )
    while (primary.state.held.length === 0) await new Promise((resolve) => setImmediate(resolve))
    expect(ladder.states().primary).toBe('half-open')
    const skipped = await Promise.all(sends.slice(1))
    primary.state.held[0]!()
    const probe = await sends[0]!

    expect(primary.state.calls - 5).toBe(1)
    expect(probe.provider).toBe('primary')
    expect(skipped.every((r) => r.provider === 'backup')).toBe(true)
    expect(ladder.states().primary).toBe('closed')
    primary.state.script = { status: 200 }
    expect((await ladder.send('after')).provider).toBe('primary')
  })

  it('when every breaker is open, throws AllProvidersOpenError with the time to come back, calling no one', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const primary = await httpProvider('primary', { status: 500 })
    const backup = await httpProvider('backup', { status: 500 })
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      halfOpenAfterMs: 10_000,
    })
    for (let i = 0; i < 5; i++) await expect(ladder.send('x')).rejects.toThrow(LadderExhaustedError)
    const calls = primary.state.calls + backup.state.calls

    const error = await ladder.send('y').catch((e: unknown) => e)

    expect(error).toBeInstanceOf(AllProvidersOpenError)
    expect((error as AllProvidersOpenError).retryAt).toBe(Date.now() + 10_000)
    expect(ladder.states()).toEqual({ primary: 'open', backup: 'open' })
    expect(primary.state.calls + backup.state.calls).toBe(calls)
  })

  it('when a provider answers a permanent error, it is thrown as is: no backup, no breaker count', async () => {
    const primary = await httpProvider('primary', { status: 422 })
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({ providers: [primary.provider, backup.provider] })

    for (let i = 0; i < 10; i++) await expect(ladder.send('bad')).rejects.toThrow(PermanentError)

    expect(backup.state.calls).toBe(0)
    expect(ladder.states().primary).toBe('closed')
  })

  it('when a provider times out, the ladder stops there and the backup is not called, as the primary may have applied it', async () => {
    const primary = await httpProvider('primary', { status: 200, hold: true })
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      timeoutMs: 200,
    })

    const error = await ladder.send('slow').catch((e: unknown) => e)

    expect(error).toBeInstanceOf(LadderExhaustedError)
    expect((error as LadderExhaustedError).ambiguous).toBe(true)
    expect(backup.state.calls).toBe(0)
  })

  it('when intents are recorded, each call is announced first and a sure refusal withdraws it; a timeout leaves it', async () => {
    const primary = await httpProvider('primary', { status: 503 })
    const backup = await httpProvider('backup', { status: 200, hold: true })
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      timeoutMs: 100,
    })
    const events: string[] = []

    await ladder
      .send('m', {
        beforeCall: (name) => void events.push(`call ${name}`),
        refused: (name) => void events.push(`refused ${name}`),
      })
      .catch(() => undefined)

    expect(events).toEqual(['call primary', 'refused primary', 'call backup'])
  })

  it('when the intent for a provider is refused, that provider is not called and the send fails as ambiguous', async () => {
    const primary = await httpProvider('primary')
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({ providers: [primary.provider, backup.provider] })

    const error = await ladder.send('m', { beforeCall: () => false }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(LadderExhaustedError)
    expect((error as LadderExhaustedError).ambiguous).toBe(true)
    expect(primary.state.calls + backup.state.calls).toBe(0)
  })

  it('when a send is restricted to one provider, the others are never called, even with its breaker open', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const primary = await httpProvider('primary', { status: 503 })
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({ providers: [primary.provider, backup.provider] })

    for (let i = 0; i < 5; i++) {
      await expect(ladder.send(`o${i}`, { only: 'primary' })).rejects.toThrow(LadderExhaustedError)
    }
    const error = await ladder.send('o5', { only: 'primary' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(AllProvidersOpenError)
    expect(backup.state.calls).toBe(0)
  })

  it('when the primary keeps timing out, its breaker opens and the backup takes over', async () => {
    const primary = await httpProvider('primary', { status: 200, hold: true })
    const backup = await httpProvider('backup')
    const ladder = createProviderLadder({
      providers: [primary.provider, backup.provider],
      timeoutMs: 50,
    })

    for (let i = 0; i < 5; i++)
      await expect(ladder.send(`t${i}`)).rejects.toThrow(LadderExhaustedError)
    const result = await ladder.send('after')

    expect(result.provider).toBe('backup')
    expect(ladder.states().primary).toBe('open')
  })
})
