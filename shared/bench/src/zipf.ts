/**
 * A Zipf sampler over ranks `0..n-1`: rank k is drawn with probability proportional to
 * 1 / (k + 1)^s, so rank 0 is the most popular. Real link traffic is heavy-tailed like this,
 * which is what makes a cache in front of the store pay off; uniform keys would hide it.
 *
 * The cumulative weights are computed once (O(n)); each draw is a binary search (O(log n)).
 *
 * @param n - number of ranks (e.g. links), at least 1
 * @param s - skew exponent, > 0 (1.1 is a common fit for web popularity)
 * @param random - uniform source in [0, 1); inject `seededRandom(seed)` for repeatable draws
 * @example
 * ```ts
 * const pick = createZipf(1_000, 1.1)
 * const code = codes[pick()]
 * ```
 */
export function createZipf(n: number, s: number, random: () => number = Math.random): () => number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`createZipf: n must be an integer >= 1, got ${n}`)
  if (!(s > 0)) throw new RangeError(`createZipf: s must be > 0, got ${s}`)

  const cumulative = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s
    cumulative[k] = total
  }

  return function zipf() {
    const target = random() * total
    let low = 0
    let high = n - 1
    while (low < high) {
      const mid = (low + high) >>> 1
      if (cumulative[mid]! > target) high = mid
      else low = mid + 1
    }
    return low
  }
}

/**
 * A small seeded PRNG (mulberry32) returning floats in [0, 1): the same seed gives the same
 * sequence, so every target of a benchmark can be sent the same request mix.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return function random() {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
