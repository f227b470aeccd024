export {
  baselineEntry,
  baselineTarget,
  createBaselineApp,
  parseShapes,
  type BaselineShape,
} from './baseline.ts'
export { BenchCheckError, type CheckMismatch } from './check.ts'
export { describeEnvironment } from './environment.ts'
export {
  importK6Summary,
  K6SummaryError,
  type ImportK6Options,
  type K6Summary,
} from './import-k6.ts'
export { GENERATED_MARK, readSections, renderReport, saveResult } from './report.ts'
export { roundOrder, runBenchmark, type RunBenchmarkOptions } from './run-benchmark.ts'
export { freePort, spawnTarget, TargetStartError, type SpawnTargetOptions } from './spawn-target.ts'
export { median, pairedRatio } from './stats.ts'
export type * from './types.ts'
export { createZipf, seededRandom } from './zipf.ts'
