export {
  BACKOFF_NAMES,
  BACKOFF_STRATEGIES,
  backoffDelay,
  createBackoffStrategy,
  type BackoffName,
  type BackoffOptions,
  type DelayFunction,
} from './backoff-strategies.ts'
