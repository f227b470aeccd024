export {
  createIdempotentEnqueue,
  fingerprintOf,
  IdempotencyKeyReusedError,
  type IdempotentEnqueue,
  type IdempotentEnqueueOptions,
  type IdempotentResult,
} from './idempotent-enqueue.ts'
