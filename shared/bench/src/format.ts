import type { Range } from './types.ts'

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** 31245.6 → '31,246' */
export function formatInteger(value: number): string {
  return integer.format(value)
}

/** Up to `digits` decimals, trailing zeros dropped: 2.50 → '2.5', 3 → '3'. */
export function formatDecimal(value: number, digits = 2): string {
  return String(Number(value.toFixed(digits)))
}

/** '31,245 (29,870–32,001)' */
export function formatRange(range: Range, format: (n: number) => string = formatInteger): string {
  return `${format(range.median)} (${format(range.min)}–${format(range.max)})`
}

/** '0.48× (0.45–0.51)' */
export function formatRatio(range: Range | null): string {
  if (range === null) return 'n/a'
  const f = (n: number) => formatDecimal(n, n >= 10 ? 1 : n >= 0.1 ? 2 : 3)
  return `${f(range.median)}× (${f(range.min)}–${f(range.max)})`
}

/** 52_428_800 → '50 MiB' */
export function formatBytes(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${formatDecimal(bytes / 2 ** 20, 0)} MiB`
}

/** '+12.3 %' / '−4.0 %' / 'n/a' */
export function formatChange(
  before: number | null | undefined,
  after: number | null | undefined
): string {
  if (before == null || after == null || before === 0) return 'n/a'
  const change = ((after - before) / before) * 100
  return `${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)} %`
}
