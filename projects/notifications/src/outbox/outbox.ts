import type { Database } from 'better-sqlite3'

/** One message waiting in (or relayed from) the outbox. */
export type OutboxMessage = {
  id: number
  topic: string
  /** The JSON payload as appended. */
  payload: unknown
  /** Unix ms when it was appended, in the same transaction as the state it announces. */
  createdAt: number
}

export type Outbox = {
  /**
   * Appends a message. Call it inside the same `db.transaction()` as the writes it announces:
   * either both commit or neither does, so no accepted change is ever left unannounced.
   */
  append(topic: string, payload: unknown, now?: number): number
  /** The oldest messages not yet relayed, in order. */
  pending(limit: number): OutboxMessage[]
  /** Marks messages relayed (they are deleted: the outbox is a queue, not a log). */
  markRelayed(ids: readonly number[]): void
  /** How many wait, and since when the oldest does. */
  backlog(): { count: number; oldestCreatedAt: number | null }
}

/**
 * The transactional outbox on a better-sqlite3 database: the table (created if missing) holds
 * the messages a transaction decided to publish; a relay reads them afterwards and publishes
 * them to the broker. The broker can be down for as long as it likes: nothing accepted is lost,
 * the outbox just grows, and a relay drains it when the broker returns. Delivery to the broker
 * is at least once (a relay that dies after publishing and before `markRelayed` publishes again),
 * so consumers deduplicate: give each message an id the broker or the consumer recognises.
 *
 * @example
 * ```ts
 * const outbox = createOutbox(db)
 * db.transaction(() => {
 *   orders.insert(order)
 *   outbox.append('order.placed', { orderId: order.id })
 * })()
 * ```
 */
export function createOutbox(db: Database, { table = 'outbox' }: { table?: string } = {}): Outbox {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new RangeError(`bad table name: ${table}`)
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`)
  const insert = db.prepare<[string, string, number]>(
    `INSERT INTO ${table} (topic, payload, created_at) VALUES (?, ?, ?)`
  )
  const select = db.prepare<
    [number],
    { id: number; topic: string; payload: string; created_at: number }
  >(`SELECT id, topic, payload, created_at FROM ${table} ORDER BY id LIMIT ?`)
  const remove = db.prepare<[number]>(`DELETE FROM ${table} WHERE id = ?`)
  const removeMany = db.transaction((ids: readonly number[]) => {
    for (const id of ids) remove.run(id)
  })
  const stats = db.prepare<[], { count: number; oldest: number | null }>(
    `SELECT count(*) AS count, min(created_at) AS oldest FROM ${table}`
  )

  return {
    append(topic, payload, now = Date.now()) {
      return Number(insert.run(topic, JSON.stringify(payload), now).lastInsertRowid)
    },
    pending(limit) {
      return select.all(limit).map((row) => ({
        id: row.id,
        topic: row.topic,
        payload: JSON.parse(row.payload) as unknown,
        createdAt: row.created_at,
      }))
    },
    markRelayed(ids) {
      removeMany(ids)
    },
    backlog() {
      const row = stats.get()!
      return { count: row.count, oldestCreatedAt: row.oldest }
    },
  }
}
