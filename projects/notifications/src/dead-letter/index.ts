export {
  createDeadLetterQueue,
  type DeadLetter,
  type DeadLetterEntry,
  type DeadLetterQueue,
} from './dead-letter-queue.ts'
