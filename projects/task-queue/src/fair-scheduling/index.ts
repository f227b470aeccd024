export {
  createFairQueue,
  type FairJob,
  type FairQueue,
  type FairQueueOptions,
} from './fair-queue.ts'
