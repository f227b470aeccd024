/** A group room anyone may join, or a direct conversation between exactly two users. */
export type RoomKind = 'group' | 'direct'

export type Room = {
  id: string
  kind: RoomKind
  name: string
  createdBy: string
  createdAt: number
}

export type Member = { user: string; joinedAt: number; lastRead: number }

/**
 * Rooms, their members and each member's read receipt (the last seq they read). Membership is
 * what a socket needs to join a room, send to it or read its history.
 */
export type RoomDirectory = {
  createGroup(input: {
    id: string
    name: string
    createdBy: string
    lastRead: number
  }): Promise<Room>
  /** The direct room of two users, created on first use; both are members. */
  openDirect(a: string, b: string): Promise<{ room: Room; created: boolean }>
  get(id: string): Promise<Room | undefined>
  /** Adds `user` to a group; false when already a member. `lastRead` starts where they join. */
  join(room: string, user: string, lastRead: number): Promise<boolean>
  /** false when `user` was not a member. */
  leave(room: string, user: string): Promise<boolean>
  member(room: string, user: string): Promise<Member | undefined>
  members(room: string): Promise<Member[]>
  /** The rooms `user` is in, with their read receipt in each. */
  roomsOf(user: string): Promise<{ room: Room; lastRead: number }[]>
  /** Moves the read receipt forward only; answers the receipt after the call. */
  markRead(room: string, user: string, seq: number): Promise<number>
}

/** `dm:<a>:<b>` with the two user ids sorted: one room per pair, whoever opens it. */
export function directRoomId(a: string, b: string): string {
  const [first, second] = [a, b].sort()
  return `dm:${first}:${second}`
}
