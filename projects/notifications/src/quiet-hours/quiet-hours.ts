import { DateTime, IANAZone } from 'luxon'

/**
 * A daily window, in the recipient's own time zone, when interruptive notifications wait.
 * `start` and `end` are wall-clock `HH:mm`; a window whose end is before its start spans midnight
 * (22:00-07:00). Equal start and end is an empty window.
 */
export type QuietHours = { timezone: string; start: string; end: string }

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/

/** true when `timezone` is an IANA zone name this runtime knows (Europe/Paris, not CET+1). */
export function isValidTimeZone(timezone: string): boolean {
  return IANAZone.isValidZone(timezone)
}

/** true when `text` is a wall-clock time `HH:mm` (00:00 to 23:59). */
export function isClockTime(text: string): boolean {
  return CLOCK.test(text)
}

function minutesOf(text: string): number {
  const match = CLOCK.exec(text)
  if (!match) throw new RangeError(`not a HH:mm time: ${text}`)
  return Number(match[1]) * 60 + Number(match[2])
}

/**
 * When the quiet hours that contain `now` end, or null when `now` is outside them. Computed on
 * the recipient's calendar with luxon, so a window keeps its wall-clock meaning across daylight
 * saving changes: 22:00-07:00 ends at 07:00 local on the morning after the clocks moved, which is
 * 8 or 10 hours after it began rather than 9. A wall-clock end that does not exist that day
 * (inside a spring-forward gap) is moved forward to the first valid instant.
 *
 * @example
 * ```ts
 * quietHoursEnd(new Date('2026-06-01T21:30:00Z'), { timezone: 'Europe/Paris', start: '22:00', end: '07:00' })
 * // 2026-06-02T05:00:00.000Z (07:00 in Paris, UTC+2)
 * ```
 */
export function quietHoursEnd(now: Date, { timezone, start, end }: QuietHours): Date | null {
  if (!isValidTimeZone(timezone)) throw new RangeError(`unknown time zone: ${timezone}`)
  const startMinutes = minutesOf(start)
  const endMinutes = minutesOf(end)
  if (startMinutes === endMinutes) return null

  const local = DateTime.fromJSDate(now, { zone: timezone })
  const minute = local.hour * 60 + local.minute
  const overnight = endMinutes < startMinutes
  const inside = overnight
    ? minute >= startMinutes || minute < endMinutes
    : minute >= startMinutes && minute < endMinutes
  if (!inside) return null

  // The end is today, unless the window spans midnight and we are in its evening part.
  const endDay = overnight && minute >= startMinutes ? local.plus({ days: 1 }) : local
  const endsAt = endDay.set({
    hour: Math.floor(endMinutes / 60),
    minute: endMinutes % 60,
    second: 0,
    millisecond: 0,
  })
  return endsAt.toJSDate()
}
