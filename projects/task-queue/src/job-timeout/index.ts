export {
  JobCancelledError,
  JobTimeoutError,
  withTimeout,
  type CancellableProcessor,
  type TimeoutOptions,
} from './job-timeout.ts'
