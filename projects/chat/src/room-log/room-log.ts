/**
 * A room's message log: the server assigns each message the next sequence number of its room and
 * stores it before anyone sees it; readers page through it by sequence, and a client that saw up
 * to `seq` asks for everything after it.
 */

/** One stored message. `seq` is 1, 2, 3... per room, assigned by the log, never reused. */
export type ChatMessage = {
  room: string
  seq: number
  sender: string
  /** The sender's own id for the message: a retry with the same id is the same message. */
  clientId: string
  body: string
  /** Milliseconds since the epoch, when the log stored it. */
  at: number
}

export type AppendInput = Pick<ChatMessage, 'room' | 'sender' | 'clientId' | 'body'>

export type AppendResult = {
  message: ChatMessage
  /** true when (room, sender, clientId) was stored before: `message` is that first one. */
  duplicate: boolean
}

/**
 * A page of a room's log. `after` and `before` are exclusive sequence numbers; with `after` the
 * page is the oldest `limit` messages after it, otherwise the newest `limit` before `before`
 * (or before the end). Messages come in ascending `seq` order either way.
 */
export type RangeQuery = { after?: number; before?: number; limit: number }

export type RoomLog = {
  /** Stores the message (or finds the earlier one with the same client id) and returns it. */
  append(input: AppendInput): Promise<AppendResult>
  /** A page of messages, ascending by seq. */
  range(room: string, query: RangeQuery): Promise<ChatMessage[]>
  /** The room's last assigned sequence number; 0 before the first message. */
  head(room: string): Promise<number>
  close(): Promise<void>
}
