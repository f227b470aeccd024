/**
 * The issue's targets, judged within one run: each as the median of the per-round paired
 * ratios (round r of the chat against round r of the other target, which ran beside it), with
 * their min–max and "met" or "NOT met" on the median.
 *
 * - fanout-saturation: deliveries/s >= 1.2× Socket.IO's; and, as a second reading, CPU µs per
 *   delivery of each server (the driver's threads share the machine's cores with the server,
 *   so deliveries/s may be capped by the driver while the cost per delivery still tells the
 *   servers apart).
 * - latency-50k: p99 <= 0.5× Socket.IO's and <= the raw ws naive server's.
 * - idle-connections: RSS per 1,000 idle connections <= 0.5× Socket.IO's.
 */
import { median, pairedRatio, type BenchResult, type Range, type RoundResult } from '@kit/bench'

type Bound = { atLeast: number } | { atMost: number }

function formatRatio(ratio: Range): string {
  const f = (n: number) => n.toFixed(2)
  return `${f(ratio.median)}× (rounds ${f(ratio.min)}–${f(ratio.max)})`
}

function boundText(bound: Bound): string {
  return 'atLeast' in bound ? `>= ${bound.atLeast}×` : `<= ${bound.atMost}×`
}

function isMet(ratio: Range | null, bound: Bound): boolean {
  // A ratio of 0 or less comes from a reading of 0 or less (e.g. RSS that fell): not a pass.
  if (ratio === null || ratio.median <= 0) return false
  return 'atLeast' in bound ? ratio.median >= bound.atLeast : ratio.median <= bound.atMost
}

/** CPU µs of the target per delivery in one round; null without a CPU reading or deliveries. */
function cpuMicrosPerDelivery(round: RoundResult): number | null {
  return round.cpuSeconds.target === null || round.requests === 0
    ? null
    : (round.cpuSeconds.target * 1e6) / round.requests
}

/** Deliveries per CPU-second of the target in one round (0 without a CPU reading: never a guess). */
function deliveriesPerCpuSecond(round: RoundResult): number {
  const cpu = round.cpuSeconds.target
  return cpu === null || cpu <= 0 ? 0 : round.requests / cpu
}

/** One comparison: "<what>: <subject> ÷ <other> = 1.23× (rounds …) against <bound>: met." */
function comparison(
  what: string,
  subject: { name: string; values: number[] },
  other: { name: string; values: number[] },
  bound: Bound
): string {
  const ratio = pairedRatio(subject.values, other.values)
  const measured = ratio ? formatRatio(ratio) : 'n/a (no round with a reading of the other target)'
  return `${what}, ${subject.name} ÷ ${other.name}: ${measured}, target ${boundText(bound)}: ${isMet(ratio, bound) ? 'met' : 'NOT met'}.`
}

/**
 * The target lines for one scenario's result (none for scenarios without a target). Targets
 * are found by kind: the chat is the subject, raw ws the baseline, Socket.IO the peer.
 */
export function targetNotes(scenario: string, result: BenchResult): string[] {
  const subject = result.targets.find((t) => t.kind === 'subject')
  const baseline = result.targets.find((t) => t.kind === 'baseline')
  const peer = result.targets.find((t) => t.kind === 'peer')
  if (!subject || !baseline || !peer) return []
  const of = (target: typeof subject, measure: (round: RoundResult) => number) => ({
    name: target.name,
    values: target.rounds.map(measure),
  })
  const prefix = result.smoke ? '(SMOKE run, not a measurement) ' : ''
  const lines: string[] = []

  if (scenario === 'fanout-saturation') {
    const rps = (r: RoundResult) => r.requestsPerSecond
    lines.push(
      comparison(
        'Target "deliveries/s at saturation >= 1.2× Socket.IO\'s", paired per round',
        of(subject, rps),
        of(peer, rps),
        { atLeast: 1.2 }
      )
    )
    const perCpu = comparison(
      'Second reading, deliveries per CPU-second of the server (the driver shares the cores)',
      of(subject, deliveriesPerCpuSecond),
      of(peer, deliveriesPerCpuSecond),
      { atLeast: 1.2 }
    )
    const costs = [subject, baseline, peer].map((target) => {
      const micros = target.rounds.map(cpuMicrosPerDelivery)
      const known = micros.filter((m): m is number => m !== null)
      if (known.length === 0) return `${target.name} n/a`
      const saturated = target.rounds.filter((r) => r.generatorSaturated === true).length
      return (
        `${target.name} ${median(known).toFixed(2)} (rounds ${known.map((m) => m.toFixed(2)).join(', ')}` +
        `${saturated > 0 ? `; driver saturated in ${saturated} of ${target.rounds.length}` : ''})`
      )
    })
    lines.push(`${perCpu} Server CPU µs per delivery: ${costs.join('; ')}.`)
  }

  if (scenario === 'latency-50k') {
    const p99 = (r: RoundResult) => r.latencyMs.p99
    const offered = [subject, baseline, peer]
      .map((t) => `${t.name} ${Math.round(t.requestsPerSecond.median).toLocaleString('en-US')}`)
      .join(', ')
    lines.push(
      comparison(
        'Target "p99 at 50,000 deliveries/s <= 0.5× Socket.IO\'s", paired per round',
        of(subject, p99),
        of(peer, p99),
        { atMost: 0.5 }
      ),
      `${comparison(
        'Target "p99 at 50,000 deliveries/s <= the raw ws naive server\'s", paired per round',
        of(subject, p99),
        of(baseline, p99),
        { atMost: 1 }
      )} Deliveries/s reached (median): ${offered}.`
    )
  }

  if (scenario === 'idle-connections') {
    const rss = (r: RoundResult) => r.extra?.rssPerThousandBytes ?? 0
    lines.push(
      comparison(
        'Target "RSS per 1,000 idle connections <= 0.5× Socket.IO\'s", paired per round',
        of(subject, rss),
        of(peer, rss),
        { atMost: 0.5 }
      )
    )
  }

  return lines.map((line) => prefix + line)
}
