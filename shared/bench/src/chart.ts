import { formatInteger, formatRatio } from './format.ts'
import type { BenchResult, BenchTarget } from './types.ts'

const COLORS: Record<BenchTarget['kind'], string> = {
  subject: '#2563eb',
  baseline: '#6b7280',
  peer: '#d97706',
  reference: '#9ca3af',
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * A horizontal bar chart of median req/s per target, with a whisker from the slowest to the
 * fastest round and the ratio to the baseline as the label. Plain SVG: GitHub renders it inline.
 */
export function renderChart(result: BenchResult): string {
  const width = 720
  const labelWidth = 170
  const valueWidth = 230
  const barArea = width - labelWidth - valueWidth - 20
  const rowHeight = 30
  const top = 44
  const height = top + result.targets.length * rowHeight + 16
  const scaleMax = Math.max(1, ...result.targets.map((t) => t.requestsPerSecond.max))
  const x = (value: number) => labelWidth + (value / scaleMax) * barArea
  const rate = `${result.unit?.many ?? 'req'}/s`
  const title =
    `${result.project} · ${result.scenario}: ${rate}, median and min–max of ${result.rounds} ` +
    `round${result.rounds === 1 ? '' : 's'}${result.smoke ? ' (SMOKE: not a measurement)' : ''}`

  const rows = result.targets.map((target, i) => {
    const y = top + i * rowHeight
    const { median, min, max } = target.requestsPerSecond
    const ratio = target.ratio?.requestsPerSecond
    const label = `${formatInteger(median)} ${rate}${ratio ? ` · ${formatRatio(ratio).split(' ')[0]}` : ''}`
    return [
      `  <text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(target.name)}</text>`,
      `  <rect x="${labelWidth}" y="${y + 3}" width="${(x(median) - labelWidth).toFixed(1)}" height="18" fill="${COLORS[target.kind]}"><title>${escapeXml(`${target.name} (${target.kind})`)}</title></rect>`,
      // The whisker: slowest to fastest round, with end caps.
      `  <path d="M${x(min).toFixed(1)} ${y + 12}H${x(max).toFixed(1)}M${x(min).toFixed(1)} ${y + 7}v10M${x(max).toFixed(1)} ${y + 7}v10" stroke="#111827" stroke-width="1.5" fill="none"/>`,
      `  <text x="${labelWidth + barArea + 12}" y="${y + 15}">${escapeXml(label)}</text>`,
    ].join('\n')
  })

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13" fill="#111827">`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="12" y="24" font-weight="600">${escapeXml(title)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n')
}
