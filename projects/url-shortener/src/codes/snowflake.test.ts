import { describe, expect, it } from 'vitest'
import { createSnowflake, parseSnowflake, SNOWFLAKE_EPOCH_MS } from './snowflake.ts'

describe('createSnowflake', () => {
  it('when 100,000 ids are taken in a tight loop, they strictly increase', () => {
    const next = createSnowflake({ workerId: 1 })
    let previous = -1n

    let decreasing = 0
    for (let i = 0; i < 100_000; i++) {
      const id = next()
      if (id <= previous) decreasing++
      previous = id
    }

    expect(decreasing).toBe(0)
  })

  it('when two workers run at the same instant, their ids never collide', () => {
    const clock = () => SNOWFLAKE_EPOCH_MS + 1_000
    const a = createSnowflake({ workerId: 1, now: clock })
    const b = createSnowflake({ workerId: 2, now: clock })

    const ids = new Set<bigint>()
    for (let i = 0; i < 50_000; i++) {
      ids.add(a())
      ids.add(b())
    }

    expect(ids.size).toBe(100_000)
  })

  it('when an id is parsed, gives back its time, worker and sequence', () => {
    const next = createSnowflake({ workerId: 1023, now: () => SNOWFLAKE_EPOCH_MS + 42 })

    next()
    const id = next()

    expect(parseSnowflake(id)).toEqual({
      timestampMs: SNOWFLAKE_EPOCH_MS + 42,
      workerId: 1023,
      sequence: 1,
    })
  })

  it('when the sequence overflows within one millisecond, moves to the next millisecond', () => {
    const next = createSnowflake({ now: () => SNOWFLAKE_EPOCH_MS + 5 })

    for (let i = 0; i < 4096; i++) next()
    const id = next()

    expect(parseSnowflake(id)).toMatchObject({ timestampMs: SNOWFLAKE_EPOCH_MS + 6, sequence: 0 })
  })

  it('when the clock steps back, ids keep increasing', () => {
    let now = SNOWFLAKE_EPOCH_MS + 10_000
    const next = createSnowflake({ now: () => now })

    const before = next()
    now -= 5_000
    const after = next()

    expect(after).toBeGreaterThan(before)
  })

  it('when the worker id is outside 0..1023, refuses', () => {
    expect(() => createSnowflake({ workerId: 1024 })).toThrow(RangeError)
    expect(() => createSnowflake({ workerId: -1 })).toThrow(RangeError)
  })
})
