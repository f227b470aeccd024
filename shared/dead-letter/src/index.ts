export {
  attachDeadLetter,
  createDeadLetterQueue,
  deadIdOf,
  replayIdOf,
  type DeadLetter,
  type DeadLetterQueue,
  type DeadLetterQueueOptions,
  type DeadLetterRetention,
  type ReplayResult,
} from './dead-letter-queue.ts'
