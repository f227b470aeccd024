/**
 * The processor a sandboxed worker (PROCESSOR_MODE=sandboxed) runs in a child process: the same
 * job processors as in-process, with their own Redis connection for effects. A job that crashes
 * its process, or blocks its event loop, takes down this child only: the worker keeps renewing
 * its other jobs' locks, and the job fails (and is retried) instead of stalling. A job past its
 * deadline is stopped the same way: the worker kills its child (see src/job-timeout).
 *
 * Built to dist/sandboxed-processor.js; under the tests BullMQ forks it with the parent's tsx
 * loader.
 */
import { Cluster, Redis } from 'ioredis'
import { createEffectLedger } from './exactly-once/index.ts'
import { withTimeout } from './job-timeout/index.ts'
import { createJobProcessor, createProcessors, effectKeys } from './jobs/processors.ts'

const redisUrl = process.env.REDIS_URL
if (!redisUrl) throw new Error('REDIS_URL is not set in the sandboxed processor')
const queueName = process.env.QUEUE_NAME ?? 'jobs'
const options = { maxRetriesPerRequest: null, connectionName: 'task-queue-sandbox' }
// REDIS_URL lists a cluster's seed nodes comma-separated (see src/redis-client.ts).
const redis = redisUrl.includes(',')
  ? new Cluster(redisUrl.split(','), { redisOptions: options })
  : new Redis(redisUrl, options)
redis.on('error', () => {
  // Reconnects by itself; the job in progress fails through its own command and is retried.
})
const { ledgerPrefix, outboxKey, simulatedKey } = effectKeys(queueName)

// The deadline is the worker's: it kills this process at the deadline (SandboxedWorker), which
// stops work that ignores its signal too. Here withTimeout has no deadline: it turns a
// cancellation (worker.cancelJob, forwarded to this child) into a JobCancelledError, not retried.
export default withTimeout(
  createJobProcessor(
    createProcessors({
      effects: createEffectLedger({ redis, prefix: ledgerPrefix }),
      outboxKey,
      simulatedKey,
    })
  ),
  { timeoutMs: () => undefined }
)
