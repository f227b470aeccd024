/**
 * Admitted requests over time under one bursty arrival pattern, for the five algorithms: the
 * trace is replayed on the memory limiter with a fake clock (deterministic), and drawn as an SVG
 * line chart, one line per algorithm, admitted per 100 ms.
 */
import { ALGORITHMS, type Algorithm, type Policy } from '../src/limiter/index.ts'
import { countPerBucket, EDGE, replay, steady } from './traces.ts'

/** 100 per second: the pattern below offers 0.2x, 3x, 0.2x then 1.5x of it. */
export const BURSTY_POLICY = { limit: 100, windowMs: 1000 } as const
export const BUCKET_MS = 100

/** Phases of the pattern: [label, duration ms, requests per second]. */
export const BURSTY_PHASES: readonly (readonly [string, number, number])[] = [
  ['quiet', 2000, 20],
  ['burst 3x', 2000, 300],
  ['quiet', 2000, 20],
  ['sustained 1.5x', 4000, 150],
]

export type BurstySeries = {
  bucketMs: number
  offered: number[]
  admitted: Record<Algorithm, number[]>
}

/** The pattern's arrival times from EDGE, phase after phase. */
export function burstyTrace(): number[] {
  const trace: number[] = []
  let from = EDGE
  for (const [, durationMs, rate] of BURSTY_PHASES) {
    trace.push(...steady(from, durationMs, rate))
    from += durationMs
  }
  return trace
}

export async function simulateBursty(): Promise<BurstySeries> {
  const trace = burstyTrace()
  const end = EDGE + BURSTY_PHASES.reduce((sum, [, durationMs]) => sum + durationMs, 0)
  const admitted = {} as Record<Algorithm, number[]>
  for (const algorithm of ALGORITHMS) {
    const policy: Policy = { name: 'bursty', algorithm, ...BURSTY_POLICY }
    admitted[algorithm] = countPerBucket(await replay(policy, trace), EDGE, end, BUCKET_MS)
  }
  return { bucketMs: BUCKET_MS, offered: countPerBucket(trace, EDGE, end, BUCKET_MS), admitted }
}

const COLORS: Record<Algorithm, string> = {
  'fixed-window': '#dc2626',
  'sliding-log': '#2563eb',
  'sliding-window': '#16a34a',
  'token-bucket': '#d97706',
  gcra: '#7c3aed',
}

/**
 * The chart: one panel per algorithm on a shared time axis (five lines would hide each other
 * where two algorithms agree, as token bucket and GCRA do), each with the offered load dashed
 * grey and the limit's rate dotted; a legend names every line.
 */
export function renderBurstyChart(series: BurstySeries): string {
  const width = 860
  const panelHeight = 92
  const gap = 14
  const plot = { left: 64, right: 200, top: 52, bottom: 76 }
  const innerWidth = width - plot.left - plot.right
  const height = plot.top + ALGORITHMS.length * (panelHeight + gap) - gap + plot.bottom
  const buckets = series.offered.length
  const peak = Math.max(...series.offered, ...Object.values(series.admitted).flat())
  const yMax = Math.ceil(peak / 10) * 10
  const x = (bucket: number) => plot.left + (bucket / buckets) * innerWidth
  const rate = (BURSTY_POLICY.limit * series.bucketMs) / BURSTY_POLICY.windowMs
  const seconds = (buckets * series.bucketMs) / 1000
  const bottom = plot.top + ALGORITHMS.length * (panelHeight + gap) - gap

  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" fill="#111827">`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="12" y="22" font-size="14" font-weight="600">Admitted per ${series.bucketMs} ms under one bursty arrival pattern, five algorithms</text>`,
    `  <text x="12" y="40" fill="#4b5563">limit ${BURSTY_POLICY.limit} per ${BURSTY_POLICY.windowMs / 1000} s, one client, memory backend replayed on a fake clock (deterministic)</text>`,
  ]

  ALGORITHMS.forEach((algorithm, index) => {
    const top = plot.top + index * (panelHeight + gap)
    const y = (count: number) => top + panelHeight - (count / yMax) * panelHeight
    // Each bucket's count is drawn at the bucket's middle.
    const path = (counts: readonly number[]) =>
      counts
        .map((n, i) => `${i === 0 ? 'M' : 'L'}${x(i + 0.5).toFixed(1)} ${y(n).toFixed(1)}`)
        .join('')
    for (const tick of [0, yMax / 2, yMax]) {
      lines.push(
        `  <path d="M${plot.left} ${y(tick).toFixed(1)}H${plot.left + innerWidth}" stroke="#e5e7eb"/>`,
        `  <text x="${plot.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#6b7280">${tick}</text>`
      )
    }
    lines.push(
      `  <path d="M${plot.left} ${top}V${top + panelHeight}H${plot.left + innerWidth}" stroke="#111827" fill="none"/>`,
      `  <path d="M${plot.left} ${y(rate).toFixed(1)}H${plot.left + innerWidth}" stroke="#111827" stroke-dasharray="1 3"/>`,
      `  <path d="${path(series.offered)}" stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="6 4" fill="none"/>`,
      `  <path d="${path(series.admitted[algorithm])}" stroke="${COLORS[algorithm]}" stroke-width="2" fill="none"/>`,
      `  <text x="${plot.left + innerWidth + 12}" y="${top + panelHeight / 2 + 4}" font-weight="600" fill="${COLORS[algorithm]}">${algorithm}</text>`
    )
  })

  // The shared time axis, the phases and the y label.
  for (let s = 0; s <= seconds; s++) {
    const at = x((s * 1000) / series.bucketMs).toFixed(1)
    lines.push(
      `  <path d="M${at} ${bottom}v5" stroke="#6b7280"/>`,
      `  <text x="${at}" y="${bottom + 18}" text-anchor="middle">${s} s</text>`
    )
  }
  let phaseStart = 0
  for (const [label, durationMs] of BURSTY_PHASES) {
    const from = x(phaseStart / series.bucketMs)
    const to = x((phaseStart + durationMs) / series.bucketMs)
    lines.push(
      `  <path d="M${to.toFixed(1)} ${plot.top}V${bottom}" stroke="#d1d5db" stroke-dasharray="2 3"/>`,
      `  <text x="${((from + to) / 2).toFixed(1)}" y="${bottom + 36}" text-anchor="middle" fill="#4b5563">${label}</text>`
    )
    phaseStart += durationMs
  }
  const middle = (plot.top + bottom) / 2
  lines.push(
    `  <text x="16" y="${middle}" transform="rotate(-90 16 ${middle})" text-anchor="middle">requests per ${series.bucketMs} ms</text>`
  )

  const legend: [string, string, string][] = [
    ['offered', '#9ca3af', '6 4'],
    [`limit rate (${rate} per ${series.bucketMs} ms)`, '#111827', '1 3'],
    ['admitted', '#111827', ''],
  ]
  legend.forEach(([label, color, dash], i) => {
    const lx = plot.left + i * 200
    const ly = height - 14
    lines.push(
      `  <path d="M${lx} ${ly - 4}h26" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `  <text x="${lx + 32}" y="${ly}">${label}${label === 'admitted' ? ' (one colour per algorithm)' : ''}</text>`
    )
  })
  lines.push('</svg>', '')
  return lines.join('\n')
}
