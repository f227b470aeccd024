// Zipf popularity for k6 scripts (k6 cannot load @kit/bench's TypeScript). Pure: runs in k6
// and in Node, where its test lives.

/**
 * Cumulative Zipf weights over ranks 0..n-1, normalised so the last is 1: rank k weighs
 * 1 / (k + 1)^s. Compute once (in k6, inside a SharedArray) and draw with `zipfPick`.
 * @param {number} n number of ranks, >= 1
 * @param {number} s skew exponent, > 0
 * @returns {number[]}
 */
export function zipfCumulative(n, s) {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`zipfCumulative: n must be an integer >= 1, got ${n}`)
  if (!(s > 0)) throw new RangeError(`zipfCumulative: s must be > 0, got ${s}`)
  const cumulative = []
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s
    cumulative.push(total)
  }
  return cumulative.map((c) => c / total)
}

/**
 * The rank whose cumulative weight first exceeds `u` (binary search).
 * @param {ArrayLike<number>} cumulative from `zipfCumulative`
 * @param {number} u uniform in [0, 1), e.g. Math.random()
 * @returns {number}
 */
export function zipfPick(cumulative, u) {
  let low = 0
  let high = cumulative.length - 1
  while (low < high) {
    const mid = (low + high) >>> 1
    if (/** @type {number} */ (cumulative[mid]) > u) high = mid
    else low = mid + 1
  }
  return low
}
