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
export {
  chooseGenerator,
  roundOrder,
  runBenchmark,
  type GeneratorName,
  type RunBenchmarkOptions,
} from './run-benchmark.ts'
export {
  requestMix,
  type ExternalDraws,
  type PickDistribution,
  type RequestMix,
  type RequestTemplate,
  type SentCounts,
} from './request-mix.ts'
export { freePort, spawnTarget, TargetStartError, type SpawnTargetOptions } from './spawn-target.ts'
export { baselineRatio, GENERATOR_SATURATION, judgedBy, median, pairedRatio } from './stats.ts'
export type * from './types.ts'
export {
  findWrk,
  parseWrkResult,
  renderWrkScript,
  runWrk,
  WrkOutputError,
  type RunWrkOptions,
  type WrkResult,
  type WrkScriptOptions,
} from './wrk.ts'
export {
  runWsBenchmark,
  type RunWsBenchmarkOptions,
  type WsLoad,
  type WsProtocol,
  type WsScenario,
  type WsStartedTarget,
  type WsTarget,
} from './ws-driver.ts'
export { createZipf, seededRandom } from './zipf.ts'
