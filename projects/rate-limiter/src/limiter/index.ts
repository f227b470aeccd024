/**
 * A rate limiter library with five algorithms on two backends. Copy this folder whole: it
 * imports only `ioredis` (types, for the Redis backend) and Node built-ins. See README.md.
 */
export { createMemoryLimiter, type MemoryLimiterOptions } from './memory-limiter.ts'
export { createRedisLimiter, type RedisLimiterOptions } from './redis-limiter.ts'
export { createMultiLimiter, mostRestrictive } from './multi-limiter.ts'
export { createCoalescingLimiter, type CoalescingLimiterOptions } from './coalescing-limiter.ts'
export { createResilientLimiter, type ResilientLimiterOptions } from './resilient-limiter.ts'
export {
  createStoreMonitor,
  type StoreMonitor,
  type StoreMonitorOptions,
  type StoreState,
} from './store-monitor.ts'
export {
  ALGORITHMS,
  MAX_BATCH,
  MAX_KEY_BYTES,
  assertBatch,
  assertCost,
  assertKey,
  capacityOf,
  validatePolicy,
} from './policy.ts'
export { InvalidPolicyError, InvalidRequestError, StoreUnavailableError } from './errors.ts'
// The pure decision functions, for simulations on a fake clock (benchmarks, charts, tests).
export { ALGORITHM_MODULES } from './algorithms.ts'
export type { AlgorithmModule, AlgorithmState } from './algorithm.ts'
export { fixedWindow } from './fixed-window.ts'
export { slidingLog } from './sliding-log.ts'
export { slidingWindow } from './sliding-window.ts'
export { tokenBucket } from './token-bucket.ts'
export { gcra } from './gcra.ts'
export type {
  Algorithm,
  BatchDecision,
  BatchLimiter,
  Decision,
  DecisionSource,
  Limiter,
  LimiterEvent,
  LimiterEventType,
  MemoryLimiter,
  MultiDecision,
  MultiLimiter,
  Policy,
  ResilientDecision,
  ResilientLimiter,
  StoreFailurePolicy,
} from './types.ts'
