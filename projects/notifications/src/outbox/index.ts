export { createOutbox, type Outbox, type OutboxMessage } from './outbox.ts'
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './relay.ts'
