import { Counter, Gauge, type Registry } from 'prom-client'
import type { HubStats } from './fan-out/room-hub.ts'
import type { GatewayStats } from './gateway/chat-gateway.ts'

/** A counter that reads its value from a running total at scrape time. */
function readCounter(registry: Registry, name: string, help: string, read: () => number) {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

/**
 * The chat's own metrics, read from the gateway and the hub when Prometheus scrapes (nothing is
 * counted twice on the message path).
 */
export function registerChatMetrics(
  registry: Registry,
  { gateway, hub }: { gateway: () => GatewayStats; hub: () => HubStats }
): void {
  new Gauge({
    name: 'chat_connections',
    help: 'Open WebSocket connections on this instance',
    registers: [registry],
    collect() {
      this.set(gateway().connections)
    },
  })
  new Gauge({
    name: 'chat_rooms_live',
    help: 'Rooms with sockets on this instance',
    registers: [registry],
    collect() {
      this.set(hub().rooms)
    },
  })
  readCounter(
    registry,
    'chat_messages_stored_total',
    'Messages stored (retries excluded)',
    () => gateway().messages
  )
  readCounter(
    registry,
    'chat_messages_deduplicated_total',
    'Retries answered with the stored copy',
    () => gateway().duplicates
  )
  readCounter(
    registry,
    'chat_deliveries_total',
    'Message copies written to sockets',
    () => hub().deliveries
  )
  readCounter(
    registry,
    'chat_gap_filled_total',
    'Messages the bus lost, read back from the log',
    () => hub().gapFilled
  )
  readCounter(
    registry,
    'chat_slow_consumers_total',
    'Sockets that went over the high watermark',
    () => hub().slowConsumers
  )
  readCounter(
    registry,
    'chat_heartbeat_terminated_total',
    'Sockets terminated for missing a pong',
    () => gateway().heartbeatTerminated
  )
  new Counter({
    name: 'chat_frames_rejected_total',
    help: 'Client frames answered with an error frame, by code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [code, count] of Object.entries(gateway().rejectedFrames))
        this.inc({ code }, count)
    },
  })
}
