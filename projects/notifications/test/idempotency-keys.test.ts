import { tempSqliteFile } from '@kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/db/database.ts'
import { createTrigger } from '../src/events/trigger.ts'
import { createOutbox } from '../src/outbox/index.ts'
import { MIGRATIONS } from './helpers.ts'

// How long an Idempotency-Key is remembered, on a clock the test moves.
const HOUR = 3_600_000
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function setup() {
  const file = tempSqliteFile('keys')
  const database = openDatabase(file.path, { migrationsFolder: MIGRATIONS })
  cleanups.push(() => {
    database.close()
    file.cleanup()
  })
  let clock = Date.UTC(2026, 0, 1)
  const trigger = createTrigger({
    db: database.db,
    outbox: createOutbox(database.sqlite),
    idempotencyTtlMs: 24 * HOUR,
    now: () => clock,
  })
  return { trigger, advance: (ms: number) => (clock += ms) }
}

const input = {
  type: 'a.b',
  recipients: ['x'],
  data: {},
  channels: ['email' as const],
  critical: false,
}

describe('Idempotency-Key retention', () => {
  it('when the same request comes 23 h 59 min later, it is still replayed; after 24 h it is a new event', () => {
    const { trigger, advance } = setup()
    const first = trigger.accept(input, 'k')

    advance(24 * HOUR - 60_000)
    const replayed = trigger.accept(input, 'k')
    advance(2 * 60_000)
    const pruned = trigger.pruneKeys()
    const fresh = trigger.accept(input, 'k')

    expect(first.kind).toBe('accepted')
    expect(replayed).toMatchObject({ kind: 'replayed', status: 202 })
    expect(pruned).toBe(1)
    expect(fresh.kind).toBe('accepted')
    expect(
      fresh.kind === 'accepted' && first.kind === 'accepted' && fresh.body.id !== first.body.id
    ).toBe(true)
  })
})
