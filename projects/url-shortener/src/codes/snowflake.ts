/** 2024-01-01T00:00:00Z. A recent epoch leaves 41 bits of milliseconds for ~69 years. */
export const SNOWFLAKE_EPOCH_MS = 1_704_067_200_000

const WORKER_BITS = 10n
const SEQUENCE_BITS = 12n
export const MAX_WORKER_ID = (1 << Number(WORKER_BITS)) - 1
const MAX_SEQUENCE = (1 << Number(SEQUENCE_BITS)) - 1

export type SnowflakeOptions = {
  /** 0..1023, unique per running instance: it is the only coordination instances need. */
  workerId?: number
  epochMs?: number
  now?: () => number
}

/** The three fields packed in a snowflake id. */
export type SnowflakeParts = { timestampMs: number; workerId: number; sequence: number }

/**
 * Twitter-style 64-bit ids: `0 | 41 bits ms since epoch | 10 bits worker | 12 bits sequence`.
 *
 * Instances never talk to each other: distinct worker ids make their ids distinct, and within one
 * worker the (ms, sequence) pair never repeats. When 4,096 ids are taken within one millisecond,
 * or the wall clock steps back (NTP), the generator keeps counting on its own logical clock
 * (last ms + 1) instead of waiting or failing, so ids stay unique and increasing.
 *
 * The ids are sequential by design, which makes codes derived from them enumerable: see
 * `createScrambledSnowflake` in code-strategy.ts.
 *
 * @example
 * ```ts
 * const nextId = createSnowflake({ workerId: 3 })
 * nextId() // 581474151890399232n
 * ```
 */
export function createSnowflake({
  workerId = 0,
  epochMs = SNOWFLAKE_EPOCH_MS,
  now = Date.now,
}: SnowflakeOptions = {}): () => bigint {
  if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
    throw new RangeError(`workerId must be an integer in 0..${MAX_WORKER_ID}, got ${workerId}`)
  }
  const worker = BigInt(workerId) << SEQUENCE_BITS
  let lastMs = -1
  let sequence = 0

  return function nextSnowflake() {
    const ms = Math.max(now() - epochMs, lastMs)
    if (ms === lastMs) {
      sequence++
      if (sequence > MAX_SEQUENCE) {
        lastMs++
        sequence = 0
      }
    } else {
      lastMs = ms
      sequence = 0
    }
    return (BigInt(lastMs) << (WORKER_BITS + SEQUENCE_BITS)) | worker | BigInt(sequence)
  }
}

/** Splits an id back into its fields (for tests and debugging). */
export function parseSnowflake(id: bigint, epochMs = SNOWFLAKE_EPOCH_MS): SnowflakeParts {
  return {
    timestampMs: Number(id >> (WORKER_BITS + SEQUENCE_BITS)) + epochMs,
    workerId: Number((id >> SEQUENCE_BITS) & BigInt(MAX_WORKER_ID)),
    sequence: Number(id & BigInt(MAX_SEQUENCE)),
  }
}
