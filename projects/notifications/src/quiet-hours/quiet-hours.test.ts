import { afterEach, describe, expect, it, vi } from 'vitest'
import { isValidTimeZone, quietHoursEnd } from './quiet-hours.ts'

afterEach(() => {
  vi.useRealTimers()
})

/** quietHoursEnd at the fake clock's "now", as the delivery planner calls it. */
function endAtFakeNow(window: Parameters<typeof quietHoursEnd>[1]): string | null {
  return quietHoursEnd(new Date(), window)?.toISOString() ?? null
}

describe('quietHoursEnd()', () => {
  const nightInTokyo = { timezone: 'Asia/Tokyo', start: '22:00', end: '07:00' }
  const nightInLosAngeles = { timezone: 'America/Los_Angeles', start: '22:00', end: '07:00' }

  it('when it is 22:30 in Tokyo but 05:30 in Los Angeles at the same instant, only the Tokyo recipient waits', () => {
    // 13:30 UTC = 22:30 JST (UTC+9) = 06:30 PDT (UTC-7) in June.
    vi.useFakeTimers({ now: Date.parse('2026-06-15T13:30:00Z') })

    expect(endAtFakeNow(nightInTokyo)).toBe('2026-06-15T22:00:00.000Z') // 07:00 JST next day
    expect(endAtFakeNow(nightInLosAngeles)).toBe('2026-06-15T14:00:00.000Z') // 07:00 PDT today
  })

  it('when the fake clock crosses the window start in the recipient zone, switches at 22:00 local exactly', () => {
    vi.useFakeTimers({ now: Date.parse('2026-06-15T12:59:59Z') }) // 21:59:59 JST

    expect(endAtFakeNow(nightInTokyo)).toBeNull()
    vi.setSystemTime(Date.parse('2026-06-15T13:00:00Z')) // 22:00:00 JST
    expect(endAtFakeNow(nightInTokyo)).toBe('2026-06-15T22:00:00.000Z')
  })

  it('when the night spans the spring-forward change in New York, ends at 07:00 EDT after 7 hours, not 8', () => {
    // 2026-03-08 02:00 EST -> 03:00 EDT. 23:00 EST on the 7th is 04:00 UTC on the 8th.
    vi.useFakeTimers({ now: Date.parse('2026-03-08T04:00:00Z') })

    const end = endAtFakeNow({ timezone: 'America/New_York', start: '23:00', end: '07:00' })

    expect(end).toBe('2026-03-08T11:00:00.000Z') // 07:00 EDT (UTC-4)
    expect((Date.parse(end!) - Date.now()) / 3_600_000).toBe(7)
  })

  it('when the night spans the fall-back change in Paris, ends at 07:00 CET after 10 hours, not 9', () => {
    // 2026-10-25 03:00 CEST -> 02:00 CET. 22:00 CEST on the 24th is 20:00 UTC.
    vi.useFakeTimers({ now: Date.parse('2026-10-24T20:00:00Z') })

    const end = endAtFakeNow({ timezone: 'Europe/Paris', start: '22:00', end: '07:00' })

    expect(end).toBe('2026-10-25T06:00:00.000Z') // 07:00 CET (UTC+1)
    expect((Date.parse(end!) - Date.now()) / 3_600_000).toBe(10)
  })

  it('when the window ends inside the spring-forward gap, ends at the first instant after it', () => {
    // 02:30 does not exist in New York on 2026-03-08; 01:30 EST is 06:30 UTC.
    vi.useFakeTimers({ now: Date.parse('2026-03-08T06:30:00Z') })

    const end = endAtFakeNow({ timezone: 'America/New_York', start: '01:00', end: '02:30' })

    expect(end).toBe('2026-03-08T07:30:00.000Z') // 03:30 EDT: luxon moves the missing time forward
  })

  it('when the window is in the daytime, it does not wrap', () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-10T12:00:00Z') }) // 12:00 in London

    expect(endAtFakeNow({ timezone: 'Europe/London', start: '09:00', end: '17:00' })).toBe(
      '2026-01-10T17:00:00.000Z'
    )
    expect(endAtFakeNow({ timezone: 'Europe/London', start: '13:00', end: '17:00' })).toBeNull()
  })

  it('when start equals end, there are no quiet hours', () => {
    expect(quietHoursEnd(new Date(), { timezone: 'UTC', start: '08:00', end: '08:00' })).toBeNull()
  })

  it('when the zone is unknown or a time is malformed, refuses', () => {
    expect(isValidTimeZone('Mars/Olympus')).toBe(false)
    expect(() =>
      quietHoursEnd(new Date(), { timezone: 'Mars/Olympus', start: '22:00', end: '07:00' })
    ).toThrow(RangeError)
    expect(() =>
      quietHoursEnd(new Date(), { timezone: 'UTC', start: '24:00', end: '07:00' })
    ).toThrow(RangeError)
  })
})
