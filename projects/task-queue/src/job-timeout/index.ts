export {
  JobCancelledError,
  JobTimeoutError,
  withTimeout,
  type CancellableProcessor,
  type TimeoutOptions,
} from './job-timeout.ts'
export { SandboxedWorker, type SandboxedWorkerOptions } from './sandboxed-worker.ts'
export { TimeoutWorker, type Processors, type TimeoutWorkerOptions } from './timeout-worker.ts'
