// handleSummary helpers for the kit's k6 scripts: a machine-readable JSON that
// `kit-bench import-k6` turns into a @kit/bench result, and a short text summary. Local on
// purpose: the usual https://jslib.k6.io import needs network access at run time. Pure: no k6
// import, so Node tests can run it.

/**
 * @typedef {{ type: string, values: Record<string, number>, thresholds?: Record<string, { ok: boolean }> }} Metric
 * @typedef {{ metrics: Record<string, Metric>, state?: { testRunDurationMs?: number } }} SummaryData
 * @typedef {{
 *   project: string, scenario: string, description: string, baseUrl: string,
 *   expectedStatus: number, k6: Record<string, unknown> & { duration?: string, stages?: { duration: string }[] },
 *   resultsDir: string,
 * }} SummaryMeta
 */

/**
 * k6 duration strings ('30s', '1m30s', '2h', '500ms') in seconds.
 * @param {string} text
 * @returns {number}
 */
export function parseDuration(text) {
  const units = /** @type {Record<string, number>} */ ({ ms: 0.001, s: 1, m: 60, h: 3600 })
  let seconds = 0
  let rest = text
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    seconds += Number(match[1]) * /** @type {number} */ (units[/** @type {string} */ (match[2])])
    rest = rest.replace(match[0], '')
  }
  if (rest !== '' || seconds === 0)
    throw new RangeError(`not a k6 duration: ${JSON.stringify(text)}`)
  return seconds
}

/**
 * Seconds the measured scenario lasted (its duration or the sum of its stages), setup excluded.
 * @param {SummaryMeta['k6']} k6
 */
function scenarioSeconds(k6) {
  if (typeof k6.duration === 'string') return parseDuration(k6.duration)
  return (k6.stages ?? []).reduce((sum, stage) => sum + parseDuration(stage.duration), 0)
}

/**
 * The scenario's own sub-metric if the script exposed it (setup excluded), else the total.
 * @param {SummaryData} data
 * @param {string} name
 * @param {string} scenario
 * @returns {Metric | undefined}
 */
function metric(data, name, scenario) {
  return data.metrics[`${name}{scenario:${scenario}}`] ?? data.metrics[name]
}

/**
 * @param {number | undefined} value
 * @param {number} digits
 */
function fixed(value, digits) {
  return value === undefined ? 'n/a' : value.toFixed(digits)
}

/**
 * A few lines for the terminal: throughput, latency, errors, dropped iterations, thresholds.
 * @param {SummaryData} data
 * @param {SummaryMeta} meta
 * @returns {string}
 */
export function textSummary(data, meta) {
  const seconds = scenarioSeconds(meta.k6)
  const reqs = metric(data, 'http_reqs', meta.scenario)?.values.count ?? 0
  const duration = metric(data, 'http_req_duration', meta.scenario)?.values ?? {}
  const failed = metric(data, 'http_req_failed', meta.scenario)?.values ?? {}
  const dropped = data.metrics.dropped_iterations?.values.count ?? 0
  const lines = [
    '',
    `${meta.project} · ${meta.scenario} against ${meta.baseUrl}`,
    `  requests      ${reqs} in ${seconds} s = ${(reqs / seconds).toFixed(1)} req/s (offered: ${meta.k6.rate ?? 'ramping'} per ${meta.k6.timeUnit})`,
    `  latency ms    p50 ${fixed(duration.med, 2)}  p95 ${fixed(duration['p(95)'], 2)}  p99 ${fixed(duration['p(99)'], 2)}  max ${fixed(duration.max, 2)}`,
    `  failed        ${failed.rate === undefined ? 'n/a' : `${(failed.rate * 100).toFixed(2)} % (${failed.passes} requests)`}`,
    `  dropped       ${dropped} iterations${dropped > 0 ? ' (the offered rate was not sustained)' : ''}`,
  ]
  const thresholds = Object.entries(data.metrics).flatMap(([name, m]) =>
    Object.entries(m.thresholds ?? {}).map(
      ([expression, { ok }]) => `  ${ok ? 'ok  ' : 'FAIL'}          ${name} ${expression}`
    )
  )
  if (thresholds.length > 0) lines.push('  thresholds', ...thresholds)
  lines.push(`  summary JSON  ${summaryPath(meta)}`, '')
  return lines.join('\n')
}

/**
 * @param {SummaryMeta} meta
 */
export function summaryPath(meta) {
  return `${meta.resultsDir.replace(/\/$/, '')}/k6-${meta.scenario}.json`
}

/**
 * What handleSummary returns: the k6 data plus a `kit` block (what `kit-bench import-k6`
 * needs: project, scenario, base URL, measured duration), and the text summary on stdout.
 * @param {SummaryData} data
 * @param {SummaryMeta} meta
 * @param {Date} [now]
 * @returns {Record<string, string>}
 */
export function kitSummary(data, meta, now = new Date()) {
  const kit = {
    project: meta.project,
    scenario: meta.scenario,
    description: meta.description,
    baseUrl: meta.baseUrl,
    date: now.toISOString(),
    durationSeconds: scenarioSeconds(meta.k6),
    expectedStatus: meta.expectedStatus,
    k6: meta.k6,
  }
  return {
    [summaryPath(meta)]: `${JSON.stringify({ kit, ...data }, null, 2)}\n`,
    stdout: textSummary(data, meta),
  }
}
