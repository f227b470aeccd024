#!/usr/bin/env tsx
/**
 * kit-bench: the report and comparison side of @kit/bench.
 *
 *   kit-bench report <benchmarksDir>
 *   kit-bench compare <before.json> <after.json>
 *   kit-bench import-k6 <summary.json> <benchmarksDir> --scenario <name>
 *       [--project p] [--target name] [--baseline <baseline-summary.json>] [--command "k6 run …"]
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { formatChange, formatDecimal, formatInteger } from './format.ts'
import { type K6Summary, importK6Summary } from './import-k6.ts'
import { isMainModule } from './is-main.ts'
import { readResult, renderReport, saveResult } from './report.ts'
import type { BenchResult } from './types.ts'

const USAGE = `usage:
  kit-bench report <benchmarksDir>
  kit-bench compare <before.json> <after.json>
  kit-bench import-k6 <summary.json> <benchmarksDir> --scenario <name> [--project <p>] [--target <name>]
                      [--baseline <baseline-summary.json>] [--command "<k6 command>"]`

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`)
    this.name = this.constructor.name
  }
}

function ratioChange(before: number | undefined, after: number | undefined): string {
  return before === undefined || after === undefined
    ? 'n/a'
    : `${formatDecimal(before, 3)}× → ${formatDecimal(after, 3)}× (${formatChange(before, after)})`
}

/** Per target present in both results: the change in req/s, p99 and ratios to the baseline. */
export function compareResults(before: BenchResult, after: BenchResult): string {
  const describe = (r: BenchResult) =>
    `${r.date} (${r.git ? r.git.sha.slice(0, 7) + (r.git.dirty ? '+dirty' : '') : 'no git'}, ${r.tool})`
  const lines = [`${after.scenario}: ${describe(before)} → ${describe(after)}`]
  if (before.scenario !== after.scenario)
    lines.push(`warning: comparing scenario ${before.scenario} with ${after.scenario}`)
  if (before.tool.split(' ')[0] !== after.tool.split(' ')[0])
    lines.push('warning: different tools; only ratios are comparable')
  const rows = [['target', 'req/s (median)', 'p99 ms', '× baseline req/s', '× baseline CPU µs/req']]
  for (const target of after.targets) {
    const old = before.targets.find((t) => t.name === target.name)
    if (!old) {
      rows.push([target.name, 'only in after', '', '', ''])
      continue
    }
    const oldRatio = old.ratio?.requestsPerSecond?.median
    const newRatio = target.ratio?.requestsPerSecond?.median
    rows.push([
      target.name,
      `${formatInteger(old.requestsPerSecond.median)} → ${formatInteger(target.requestsPerSecond.median)} (${formatChange(old.requestsPerSecond.median, target.requestsPerSecond.median)})`,
      `${formatDecimal(old.latencyMs.p99)} → ${formatDecimal(target.latencyMs.p99)} (${formatChange(old.latencyMs.p99, target.latencyMs.p99)})`,
      ratioChange(oldRatio, newRatio),
      ratioChange(
        old.ratio?.cpuMicrosPerRequest?.median,
        target.ratio?.cpuMicrosPerRequest?.median
      ),
    ])
  }
  for (const old of before.targets) {
    if (!after.targets.some((t) => t.name === old.name))
      rows.push([old.name, 'only in before', '', '', ''])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  lines.push(
    ...rows.map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()
    )
  )
  return lines.join('\n')
}

/** Runs one CLI command; returns what to print. */
export async function runCli(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      scenario: { type: 'string' },
      project: { type: 'string' },
      target: { type: 'string' },
      baseline: { type: 'string' },
      command: { type: 'string' },
    },
  })
  const [command, ...args] = positionals
  switch (command) {
    case 'report': {
      const [dir] = args
      if (!dir) throw new UsageError('report needs <benchmarksDir>')
      await renderReport(dir)
      return `wrote ${dir}/REPORT.md`
    }
    case 'compare': {
      const [a, b] = args
      if (!a || !b) throw new UsageError('compare needs two result files')
      return compareResults(await readResult(a), await readResult(b))
    }
    case 'import-k6': {
      const [summaryFile, dir] = args
      if (!summaryFile || !dir || !values.scenario) {
        throw new UsageError('import-k6 needs <summary.json> <benchmarksDir> --scenario <name>')
      }
      const readSummary = async (file: string) =>
        JSON.parse(await readFile(file, 'utf8')) as K6Summary
      const result = await importK6Summary(await readSummary(summaryFile), {
        scenario: values.scenario,
        ...(values.project === undefined ? {} : { project: values.project }),
        ...(values.target === undefined ? {} : { target: values.target }),
        ...(values.command === undefined ? {} : { command: values.command }),
        ...(values.baseline === undefined
          ? {}
          : { baseline: { summary: await readSummary(values.baseline) } }),
      })
      const { file } = await saveResult(dir, result)
      return `wrote ${file} and ${dir}/REPORT.md`
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command')
  }
}

if (isMainModule(import.meta.url)) {
  runCli(process.argv.slice(2)).then(
    (output) => console.log(output),
    (error: Error) => {
      console.error(error instanceof UsageError ? error.message : (error.stack ?? String(error)))
      process.exitCode = 1
    }
  )
}
