import { describe, expect, it } from 'vitest'
import { LatencyRecorder } from './latency.ts'

describe('LatencyRecorder', () => {
  it('when values are recorded, returns nearest-rank percentiles at full precision', () => {
    const recorder = new LatencyRecorder()

    for (let i = 100; i >= 1; i--) recorder.record(i / 10)

    expect(recorder.count).toBe(100)
    expect(recorder.percentiles([50, 97.5, 99, 100])).toEqual({
      50: 5,
      97.5: 9.8,
      99: 9.9,
      100: 10,
    })
  })

  it('when more values arrive than the initial buffer holds, keeps them all', () => {
    const recorder = new LatencyRecorder()

    for (let i = 0; i < 200_000; i++) recorder.record(i % 2 === 0 ? 0.25 : 4)

    expect(recorder.count).toBe(200_000)
    expect(recorder.percentiles([50, 99])).toEqual({ 50: 0.25, 99: 4 })
  })

  it('when nothing was recorded, returns 0', () => {
    expect(new LatencyRecorder().percentiles([99])).toEqual({ 99: 0 })
  })
})
