import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  IsolatedCircuitError,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel'

/** One way to send a message: an SMTP relay, an SMS gateway, a push service. */
export type Provider<Message, Receipt> = {
  /** Unique in the ladder; names the breaker in metrics and logs. */
  name: string
  send(message: Message, signal: AbortSignal): Promise<Receipt>
}

/**
 * A failure that retrying cannot fix (a rejected address, a 4xx): it does not count against the
 * provider's breaker and the ladder does not try the next provider with it.
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
  }
}

/** Every provider's breaker is open; nothing was called. Try again at `retryAt`. */
export class AllProvidersOpenError extends Error {
  constructor(readonly retryAt: number) {
    super(`every provider's circuit is open until ${new Date(retryAt).toISOString()}`)
    this.name = this.constructor.name
  }
}

/**
 * The ladder stopped without a success: every provider whose breaker let the call through
 * failed, or one failed ambiguously (it may have applied the message) and the ladder stopped
 * there. `errors` by provider, in order.
 */
export class LadderExhaustedError extends Error {
  constructor(
    readonly errors: { provider: string; error: unknown }[],
    readonly ambiguous = false
  ) {
    super(
      `${ambiguous ? 'stopped after an ambiguous failure' : 'every provider failed'}: ${errors.map(({ provider, error }) => `${provider}: ${String(error)}`).join('; ')}`
    )
    this.name = this.constructor.name
  }
}

/**
 * A failure after which the provider may still have applied the message: a timeout. The default
 * test for `isAmbiguous`.
 */
export function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    (error as { ambiguous?: unknown }).ambiguous === true
  )
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated'

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
}

export type ProviderLadderOptions<Message, Receipt> = {
  /** In order of preference: the primary first, then each backup. */
  providers: Provider<Message, Receipt>[]
  /** Decides when a breaker opens; default 5 failures in a row. Called once per provider. */
  breaker?: () => IBreaker
  /** How long a breaker stays open before one probe call is let through. */
  halfOpenAfterMs?: number
  /** Each call is aborted after this (and counts as a failure). */
  timeoutMs?: number
  /**
   * A failure after which the message may have been applied (a timeout). The ladder does not
   * hand such a message to the next provider, which would deliver it a second time (providers
   * deduplicate their own idempotency keys, not each other's): it stops, and the caller retries
   * later, on the same provider first. Once that provider's breaker opens, the next one takes
   * over. Default `isTimeout`.
   */
  isAmbiguous?: (error: unknown) => boolean
  /** When every provider is open or probing: the least wait AllProvidersOpenError asks for. */
  probeWaitMs?: number
  /** Breaker state changes, for metrics and readiness. */
  onStateChange?: (provider: string, state: BreakerState) => void
  now?: () => number
}

export type SendOptions = {
  /** Only this provider: where an earlier attempt may already have delivered the message. */
  only?: string
  /**
   * Called before each provider call, awaited. Record it durably (a write-ahead intent): if this
   * process dies during the call, the next attempt knows the message may be at that provider.
   * Answer `false` when the intent cannot be taken (another attempt holds the message at
   * another provider): that provider is not called.
   */
  beforeCall?: (provider: string) => boolean | void | Promise<boolean | void>
  /** Called when a provider failed for sure (it did not take the message): the intent is void. */
  refused?: (provider: string) => void | Promise<void>
}

export type LadderResult<Receipt> = {
  provider: string
  receipt: Receipt
  /** Providers that failed before this one succeeded (skipped open breakers are not listed). */
  failed: { provider: string; error: unknown }[]
}

export type ProviderLadder<Message, Receipt> = {
  /**
   * Sends through the first provider whose breaker is closed (or half-open, as its one probe)
   * and that succeeds. Throws PermanentError as is, AllProvidersOpenError when no breaker let a
   * call through, LadderExhaustedError when every provider tried failed. `only` restricts the
   * ladder to one provider: where an earlier ambiguous failure may have delivered the message.
   */
  send(message: Message, options?: SendOptions): Promise<LadderResult<Receipt>>
  /** Every provider's breaker state, by name. */
  states(): Record<string, BreakerState>
}

/**
 * A failover ladder: the primary provider, then each backup, each behind its own circuit
 * breaker (cockatiel). A provider that keeps failing is skipped without a call while its
 * breaker is open; after `halfOpenAfterMs` exactly one probe is let through, and its outcome
 * closes or reopens the breaker. Permanent errors never trip a breaker.
 *
 * @example
 * ```ts
 * const sms = createProviderLadder({
 *   providers: [{ name: 'twilio', send: viaTwilio }, { name: 'vonage', send: viaVonage }],
 *   halfOpenAfterMs: 30_000,
 *   onStateChange: (provider, state) => breakerGauge.set({ provider }, state === 'open' ? 1 : 0),
 * })
 * const { provider } = await sms.send({ to: '+33612345678', text: 'Your code is 042' })
 * ```
 */
export function createProviderLadder<Message, Receipt>({
  providers,
  breaker = () => new ConsecutiveBreaker(5),
  halfOpenAfterMs = 30_000,
  timeoutMs = 10_000,
  probeWaitMs = 1000,
  isAmbiguous = isTimeout,
  onStateChange,
  now = Date.now,
}: ProviderLadderOptions<Message, Receipt>): ProviderLadder<Message, Receipt> {
  if (providers.length === 0) throw new RangeError('a ladder needs at least one provider')
  const names = new Set(providers.map((p) => p.name))
  if (names.size !== providers.length) throw new RangeError('provider names must be unique')

  const rungs = providers.map((provider) => {
    const policy: CircuitBreakerPolicy = circuitBreaker(
      handleWhen((error) => !(error instanceof PermanentError)),
      { halfOpenAfter: halfOpenAfterMs, breaker: breaker() }
    )
    const rung = { provider, policy, openedAt: 0 }
    policy.onBreak(() => {
      rung.openedAt = now()
    })
    policy.onStateChange((state) => onStateChange?.(provider.name, STATE_NAMES[state]))
    return rung
  })

  /** A probe is in flight (read through a call: the state changes across an await). */
  function probing(policy: CircuitBreakerPolicy): boolean {
    return policy.state === CircuitState.HalfOpen
  }

  /** An open breaker whose open period is over: its next call is the probe. */
  function halfOpenDue(policy: CircuitBreakerPolicy): boolean {
    const rung = rungs.find((r) => r.policy === policy)!
    return policy.state === CircuitState.Open && now() - rung.openedAt >= halfOpenAfterMs
  }

  return {
    async send(message, { only, beforeCall, refused } = {}) {
      const failed: { provider: string; error: unknown }[] = []
      const held: { provider: string; error: unknown }[] = []
      const used = only === undefined ? rungs : rungs.filter((rung) => rung.provider.name === only)
      if (used.length === 0) throw new RangeError(`no provider named ${only}`)
      for (const { provider, policy } of used) {
        // cockatiel makes calls wait while the half-open probe runs; a ladder has somewhere
        // else to go, so it skips this provider instead (the probe stays the only call).
        if (policy.state === CircuitState.HalfOpen) continue
        if (policy.state === CircuitState.Open || policy.state === CircuitState.Isolated) {
          // Let the breaker decide (it may be time for the probe), but without an intent when
          // it is not: nothing is called then.
          if (!halfOpenDue(policy)) continue
        }
        if (beforeCall) {
          if ((await beforeCall(provider.name)) === false) {
            held.push({
              provider: provider.name,
              error: new Error('the message is held elsewhere'),
            })
            continue
          }
          // Another send may have started the probe meanwhile.
          if (probing(policy)) {
            await refused?.(provider.name)
            continue
          }
        }
        try {
          const receipt = await policy.execute(
            () => provider.send(message, AbortSignal.timeout(timeoutMs)),
            undefined
          )
          return { provider: provider.name, receipt, failed }
        } catch (error) {
          if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
            await refused?.(provider.name)
            continue
          }
          if (error instanceof PermanentError) throw error
          failed.push({ provider: provider.name, error })
          if (isAmbiguous(error)) throw new LadderExhaustedError(failed, true)
          await refused?.(provider.name)
        }
      }
      if (failed.length > 0) throw new LadderExhaustedError(failed)
      // Another attempt of this message holds it at some provider: try again later, there.
      if (held.length > 0) throw new LadderExhaustedError(held, true)
      // A half-open rung's probe is in flight: look again shortly, not at once.
      const retryAt = Math.min(
        ...used.map((rung) =>
          rung.policy.state === CircuitState.HalfOpen
            ? now() + probeWaitMs
            : rung.openedAt + halfOpenAfterMs
        )
      )
      throw new AllProvidersOpenError(Math.max(retryAt, now() + probeWaitMs))
    },
    states() {
      return Object.fromEntries(rungs.map((r) => [r.provider.name, STATE_NAMES[r.policy.state]]))
    },
  }
}
