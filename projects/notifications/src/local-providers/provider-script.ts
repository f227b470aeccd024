import { setTimeout as delay } from 'node:timers/promises'

/**
 * How a local provider misbehaves, changeable while it runs (tests, the benchmark, or
 * `PUT /script` on the HTTP providers): a share of calls fail, every call is slow, the whole
 * provider is down, or calls are held until released.
 */
export type ProviderScript = {
  /** Share of calls answered with a failure, at random. */
  failureRate: number
  /** Share of calls applied but answered only after `timeoutLatencyMs` (the client gives up first). */
  timeoutRate: number
  timeoutLatencyMs: number
  /** Added to every call. */
  latencyMs: number
  /** Every call fails: an outage. */
  down: boolean
  /** Calls wait until `release()`. */
  hold: boolean
}

export const HEALTHY: ProviderScript = {
  failureRate: 0,
  timeoutRate: 0,
  timeoutLatencyMs: 30_000,
  latencyMs: 0,
  down: false,
  hold: false,
}

/** What a provider keeps: every accepted message by idempotency key, and its counters. */
export type ProviderLedger<Message> = {
  /** Applied messages, one per idempotency key. */
  readonly accepted: Map<string, Message>
  /** Calls received, whatever their outcome. */
  calls: number
  /** Calls whose key was already applied: answered as success, not applied again. */
  duplicates: number
  /** Calls failed on purpose (script). */
  failed: number
}

export type Verdict = 'fail' | 'apply' | 'apply-late'

/**
 * The behaviour both local providers share: decide a call's fate from the script, wait as
 * scripted, and apply each idempotency key at most once.
 */
export function createScriptedLedger<Message>(initial: Partial<ProviderScript> = {}) {
  let script: ProviderScript = { ...HEALTHY, ...initial }
  const ledger: ProviderLedger<Message> = {
    accepted: new Map(),
    calls: 0,
    duplicates: 0,
    failed: 0,
  }
  let held: (() => void)[] = []

  return {
    ledger,
    get script() {
      return script
    },
    setScript(next: Partial<ProviderScript>) {
      script = { ...script, ...next }
      if (!script.hold) this.release()
    },
    /** Lets every held call go on. */
    release() {
      for (const resume of held) resume()
      held = []
    },
    get heldCalls() {
      return held.length
    },
    /** Runs one call: waits, then fails or applies (once per key). */
    async handle(key: string, message: Message): Promise<Verdict> {
      ledger.calls++
      if (script.hold) await new Promise<void>((resume) => held.push(resume))
      if (script.latencyMs > 0) await delay(script.latencyMs)
      if (script.down || Math.random() < script.failureRate) {
        ledger.failed++
        return 'fail'
      }
      if (ledger.accepted.has(key)) ledger.duplicates++
      else ledger.accepted.set(key, message)
      if (Math.random() < script.timeoutRate) {
        await delay(script.timeoutLatencyMs)
        return 'apply-late'
      }
      return 'apply'
    },
  }
}
