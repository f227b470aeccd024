export { isClockTime, isValidTimeZone, quietHoursEnd, type QuietHours } from './quiet-hours.ts'
