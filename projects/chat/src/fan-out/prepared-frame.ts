import * as ws from 'ws'
import type { WebSocket } from 'ws'

type FrameOptions = {
  fin: boolean
  opcode: number
  mask: boolean
  readOnly: boolean
  rsv1: boolean
}
type SenderClass = { frame(data: Buffer, options: FrameOptions): Buffer[] }
/** ws's per-socket Sender; `sendFrame` writes an already framed message to the socket. */
type SocketSender = { sendFrame?(list: Buffer[], callback?: (error?: Error) => void): void }

// ws exports its Sender (wrapper.mjs); @types/ws does not declare it.
const { Sender } = ws as unknown as { Sender: SenderClass }
const TEXT = { fin: true, opcode: 0x1, mask: false, readOnly: true, rsv1: false }

/**
 * One server-to-client text frame (RFC 6455 § 5.2: unmasked, FIN, opcode 1) holding `payload`,
 * as one buffer, built by ws's own `Sender.frame`: the header is computed once per broadcast
 * instead of once per socket, and the UTF-8 bytes are encoded once.
 *
 * @example
 * ```ts
 * const frame = prepareTextFrame(Buffer.from(JSON.stringify(message)))
 * for (const ws of room) sendPreparedFrame(ws, frame)
 * ```
 */
export function prepareTextFrame(payload: Buffer): Buffer {
  const [header, data] = Sender.frame(payload, TEXT)
  return data === undefined ? header! : Buffer.concat([header!, data])
}

/**
 * Writes bytes made by `prepareTextFrame` (one frame, or several concatenated) to a socket.
 *
 * The speed trick of this pattern, kept to this file: `ws` has no public call that writes bytes
 * already framed, so this uses the socket's private `_sender.sendFrame`, as Socket.IO does for its
 * broadcasts (socket.io-adapter's `wsPreEncodedFrame`, engine.io's websocket transport). The
 * public `ws.send(text)` re-encodes the string and frames it for every socket; writing the same
 * buffer skips both. Falls back to `ws.send` per frame if a future ws drops the method. Only for
 * sockets without permessage-deflate (the server turns it off), since the bytes are not
 * compressed.
 *
 * @example
 * ```ts
 * sendPreparedFrame(ws, frame, () => console.log('handed to the kernel'))
 * ```
 */
export function sendPreparedFrame(
  socket: WebSocket,
  frame: Buffer,
  callback?: (error?: Error) => void
): void {
  const sender = (socket as unknown as { _sender?: SocketSender })._sender
  if (sender?.sendFrame) {
    sender.sendFrame([frame], callback)
    return
  }
  for (const payload of unframe(frame)) socket.send(payload, { binary: false })
  callback?.()
}

/** The payloads of concatenated unmasked, unfragmented frames (the fallback path only). */
function* unframe(bytes: Buffer): Generator<Buffer> {
  let offset = 0
  while (offset < bytes.length) {
    let length = bytes[offset + 1]! & 0x7f
    let start = offset + 2
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2)
      start = offset + 4
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2))
      start = offset + 10
    }
    yield bytes.subarray(start, start + length)
    offset = start + length
  }
}
