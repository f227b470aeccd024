/**
 * The API's /metrics: HTTP metrics (@kit/http), BullMQ's own exporter for the queue (jobs per
 * state, completed and failed totals, which workers record), and gauges BullMQ cannot know:
 * the dead-letter queue and the tenants' backlogs. Throughput, latency and failures by job name
 * are counted where jobs run: each worker's /metrics (WORKER_PORT).
 */
import type { createMetrics } from '@kit/http'
import type { Context } from 'hono'
import { Gauge } from 'prom-client'
import type { QueueService } from './queue-service.ts'

export function createQueueMetrics(
  metrics: ReturnType<typeof createMetrics>,
  service: Pick<QueueService, 'queue' | 'dlq' | 'fair'>
): (c: Context) => Promise<Response> {
  const { registry } = metrics
  new Gauge({
    name: 'task_queue_dead_letters',
    help: 'Jobs in the dead-letter queue',
    registers: [registry],
    async collect() {
      // An outage leaves the last value; /metrics itself must still answer.
      this.set(await service.dlq.count().catch(() => Number.NaN))
    },
  })
  new Gauge({
    name: 'task_queue_backlog_jobs',
    help: 'Jobs waiting in the tenants’ backlogs (fair scheduling), not yet in the queue',
    registers: [registry],
    async collect() {
      this.set(await service.fair.backlog().catch(() => Number.NaN))
    },
  })
  return async function metricsHandler(c) {
    const [own, bullmq] = await Promise.all([
      registry.metrics(),
      service.queue.exportPrometheusMetrics().catch(() => ''),
    ])
    return c.body(`${own}${bullmq}\n`, 200, { 'content-type': registry.contentType })
  }
}
