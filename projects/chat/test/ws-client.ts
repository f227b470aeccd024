import { once } from 'node:events'
import { WebSocket } from 'ws'
import { ORIGIN } from './helpers.ts'

export type Frame = { type: string; room?: string; seq?: number; [key: string]: unknown }

/**
 * A WebSocket client for tests: records every frame, and `until(predicate)` resolves with the
 * first frame (received before or after the call) that matches.
 */
export class TestClient {
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private waiters: { predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = []

  private constructor(
    readonly ws: WebSocket,
    keepBodies: boolean
  ) {
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as Frame
      // Memory tests run many clients in this process: what they keep must not be measured.
      if (!keepBodies) delete frame.body
      this.frames.push(frame)
      this.waiters = this.waiters.filter((w) => !(w.predicate(frame) && (w.resolve(frame), true)))
    })
    ws.on('error', () => {})
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }))
    )
  }

  /** Connects with `Authorization: Bearer` and the test Origin; resolves on `hello`. */
  static async connect(
    wsUrl: string,
    token: string | undefined,
    {
      origin = ORIGIN,
      protocols = ['chat.v1'],
      keepBodies = true,
    }: { origin?: string | null; protocols?: string[]; keepBodies?: boolean } = {}
  ): Promise<TestClient> {
    const ws = new WebSocket(wsUrl, protocols, {
      headers: {
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
        ...(origin !== null && { origin }),
      },
    })
    const client = new TestClient(ws, keepBodies)
    const [outcome] = await Promise.race([
      once(ws, 'open').then(() => ['open'] as const),
      once(ws, 'unexpected-response').then(
        ([, res]) => [(res as { statusCode: number }).statusCode] as const
      ),
    ])
    if (outcome !== 'open') throw new HandshakeRefused(outcome)
    await client.until((f) => f.type === 'hello')
    return client
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  until(predicate: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const seen = this.frames.find(predicate)
    if (seen) return Promise.resolve(seen)
    return this.next(predicate, timeoutMs)
  }

  /** The first matching frame received from now on. */
  next(predicate: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`
            )
          ),
        timeoutMs
      )
      this.waiters.push({
        predicate,
        resolve: (frame) => {
          clearTimeout(timer)
          resolve(frame)
        },
      })
    })
  }

  /** Joins and waits for `joined` (after the back-fill). */
  async join(room: string, since?: number): Promise<Frame> {
    const joined = this.next((f) => f.type === 'joined' && f.room === room)
    this.send({ type: 'join', room, ...(since !== undefined && { since }) })
    return joined
  }

  /** Sends a message and waits for its ack. */
  async say(
    room: string,
    body: string,
    clientId = `c-${Math.random().toString(36).slice(2)}`
  ): Promise<Frame> {
    const answer = this.next(
      (f) => (f.type === 'ack' || f.type === 'error') && f.clientId === clientId
    )
    this.send({ type: 'send', room, clientId, body })
    return answer
  }

  /** The message frames received for `room`, in arrival order. */
  messages(room: string): Frame[] {
    return this.frames.filter((f) => f.type === 'message' && f.room === room)
  }

  seqs(room: string): number[] {
    return this.messages(room).map((f) => f.seq!)
  }

  close(): void {
    this.ws.terminate()
  }
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with ${status}`)
    this.name = this.constructor.name
  }
}
