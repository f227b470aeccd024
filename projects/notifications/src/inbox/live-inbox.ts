import type { Redis } from 'ioredis'
import type { InboxItemView } from './inbox-store.ts'

/** The Redis channel workers announce new inbox items on. */
export const inboxChannel = (prefix: string) => `${prefix}:inbox:new`

export type InboxAnnouncement = { subscriberId: string; item: InboxItemView }

/**
 * Live delivery of inbox items to the streams this API process holds: one Redis subscription for
 * the whole process (not one per stream), dispatched by subscriber. A worker in any process
 * publishes; every API instance receives and pushes to its own streams. Pub/sub may drop
 * messages while a connection is down, so streams never rely on it alone: a client that
 * reconnects resumes from its last id out of SQLite (see the stream route).
 */
export function createLiveInbox({ subscriber, prefix }: { subscriber: Redis; prefix: string }) {
  const listeners = new Map<string, Set<(item: InboxItemView) => void>>()
  const channel = inboxChannel(prefix)
  const ready = subscriber.subscribe(channel)
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return
    const { subscriberId, item } = JSON.parse(text) as InboxAnnouncement
    for (const listener of listeners.get(subscriberId) ?? []) listener(item)
  })
  return {
    ready,
    listen(subscriberId: string, listener: (item: InboxItemView) => void): () => void {
      let set = listeners.get(subscriberId)
      if (!set) listeners.set(subscriberId, (set = new Set()))
      set.add(listener)
      return () => {
        set.delete(listener)
        if (set.size === 0) listeners.delete(subscriberId)
      }
    },
    get streams() {
      let count = 0
      for (const set of listeners.values()) count += set.size
      return count
    },
  }
}

export type LiveInbox = ReturnType<typeof createLiveInbox>
