export {
  createBatchingProducer,
  type BatchingProducer,
  type BatchingProducerOptions,
} from './batching-producer.ts'
