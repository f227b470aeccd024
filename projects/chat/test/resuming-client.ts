import { WebSocket } from 'ws'
import { ORIGIN } from './helpers.ts'

type Frame = {
  type: string
  room?: string
  seq?: number
  clientId?: string
  [key: string]: unknown
}

/**
 * What a production client does to be lossless, for the fault tests: it remembers the last seq
 * of each room, reconnects (to the next instance of `urls`) when its socket drops, joins again
 * from that seq, and resends every message not yet acknowledged with the same client id (so a
 * retry after a lost ack is deduplicated by the server). It counts any message it receives twice.
 */
export class ResumingClient {
  /** Seqs per room, in arrival order, each recorded once. */
  readonly seqs = new Map<string, number[]>()
  readonly bodies = new Map<string, Map<number, string>>()
  duplicates = 0
  reconnects = 0
  readonly closeCodes: number[] = []
  private lastSeen = new Map<string, number>()
  private pending = new Map<
    string,
    { room: string; body: string; resolve: (seq: number) => void }
  >()
  private ws: WebSocket | undefined
  private stopped = false
  private next: number

  constructor(
    private readonly options: { urls: string[]; token: string; rooms: string[]; first?: number }
  ) {
    this.next = options.first ?? 0
  }

  /** Connects; resolves when every room is joined. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.connect(resolve))
  }

  /** The instance this client is on now. */
  get url(): string | undefined {
    return this.ws?.url
  }

  private connect(onJoined?: () => void) {
    if (this.stopped) return
    const url = this.options.urls[this.next % this.options.urls.length]!
    const ws = new WebSocket(url, ['chat.v1'], {
      headers: { authorization: `Bearer ${this.options.token}`, origin: ORIGIN },
    })
    this.ws = ws
    let joined = 0
    ws.on('error', () => {})
    ws.on('unexpected-response', () => ws.terminate())
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as Frame
      switch (frame.type) {
        case 'hello':
          for (const room of this.options.rooms) this.join(room)
          return
        case 'joined':
          if (++joined === this.options.rooms.length) {
            for (const [clientId, p] of this.pending) this.sendFrame(p.room, clientId, p.body)
            onJoined?.()
          }
          return
        case 'message':
          this.record(frame)
          return
        case 'ack':
          this.pending.get(frame.clientId!)?.resolve(frame.seq!)
          this.pending.delete(frame.clientId!)
          return
        case 'resync':
          this.join(frame.room!)
          return
        case 'error':
          if (frame.code === 'unavailable' && frame.clientId) {
            const p = this.pending.get(frame.clientId)
            setTimeout(() => p && this.sendFrame(p.room, frame.clientId!, p.body), 200)
          } else if (frame.code === 'unavailable' && frame.room) {
            setTimeout(() => this.join(frame.room!), 200)
          }
          return
      }
    })
    ws.once('close', (code) => {
      this.closeCodes.push(code)
      if (this.stopped || code === 1008) return
      this.reconnects++
      this.next++
      setTimeout(() => this.connect(onJoined), 50)
    })
  }

  private join(room: string) {
    const since = this.lastSeen.get(room) ?? 0
    this.ws?.send(JSON.stringify({ type: 'join', room, since }))
  }

  private record(frame: Frame) {
    const room = frame.room!
    const seq = frame.seq!
    if (seq <= (this.lastSeen.get(room) ?? 0)) {
      this.duplicates++
      return
    }
    this.lastSeen.set(room, seq)
    if (!this.seqs.has(room)) this.seqs.set(room, [])
    this.seqs.get(room)!.push(seq)
    if (!this.bodies.has(room)) this.bodies.set(room, new Map())
    this.bodies.get(room)!.set(seq, String(frame.body))
  }

  private sendFrame(room: string, clientId: string, body: string) {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'send', room, clientId, body }))
    }
  }

  /** Sends until acknowledged (resending after a reconnect or an `unavailable`); resolves the seq. */
  send(room: string, clientId: string, body: string): Promise<number> {
    return new Promise((resolve) => {
      this.pending.set(clientId, { room, body, resolve })
      this.sendFrame(room, clientId, body)
    })
  }

  received(room: string): number[] {
    return this.seqs.get(room) ?? []
  }

  stop(): void {
    this.stopped = true
    this.ws?.terminate()
  }
}
