import { describe, expect, it } from 'vitest'
import { ALGORITHMS } from '../src/limiter/index.ts'
import { burstyTrace, renderBurstyChart, simulateBursty } from './bursty-chart.ts'

describe('simulateBursty + renderBurstyChart', () => {
  it('when the pattern is replayed, every algorithm admits no more than offered, and the burst shows', async () => {
    const series = await simulateBursty()

    const offered = series.offered.reduce((a, b) => a + b, 0)
    expect(offered).toBe(burstyTrace().length)
    for (const algorithm of ALGORITHMS) {
      const admitted = series.admitted[algorithm]
      expect(admitted.every((n, i) => n <= (series.offered[i] as number))).toBe(true)
      // The 3x burst is cut: fewer admitted than offered over the pattern.
      expect(admitted.reduce((a, b) => a + b, 0)).toBeLessThan(offered)
    }
  })

  it('when drawn, has one line per algorithm, the offered load and a legend', async () => {
    const svg = renderBurstyChart(await simulateBursty())

    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    for (const algorithm of ALGORITHMS) expect(svg).toContain(`>${algorithm}</text>`)
    expect(svg).toContain('>offered</text>')
    expect(svg.match(/stroke-width="2" fill="none"/g)).toHaveLength(ALGORITHMS.length)
  })
})
