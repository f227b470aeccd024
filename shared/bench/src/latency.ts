/**
 * Every response time of a run, kept exactly. autocannon's own histogram stores whole
 * milliseconds, so a bare server's p50 reads "0 ms" and p99 ratios jump in steps of 20 %;
 * a few hundred thousand float64 per round cost a few MB and one sort.
 */
export class LatencyRecorder {
  #values = new Float64Array(1 << 16)
  #count = 0

  get count(): number {
    return this.#count
  }

  record(milliseconds: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#count++] = milliseconds
  }

  /** Nearest-rank percentiles (`p` in 0..100) in milliseconds; 0 when nothing was recorded. */
  percentiles<P extends number>(ps: readonly P[]): Record<P, number> {
    const sorted = this.#values.slice(0, this.#count).sort()
    const out = {} as Record<P, number>
    for (const p of ps) {
      const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
      out[p] = sorted.length === 0 ? 0 : sorted[rank - 1]!
    }
    return out
  }
}
