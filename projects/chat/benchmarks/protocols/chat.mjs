// The chat's protocol for the WebSocket driver: a bearer token per user, `join` after `hello`,
// ready on `joined`; a `resync` (the slow-consumer policy) joins again from the last seq seen.
import { Buffer } from 'node:buffer'
import { bodyOf, clientIdOf } from './body.mjs'

/** @typedef {{ room: string, tokens: string[] }} Shared */

const HELLO = Buffer.from('{"type":"hello"')
const JOINED = Buffer.from('{"type":"joined"')
const MESSAGE = Buffer.from('{"type":"message"')
const RESYNC = Buffer.from('{"type":"resync"')
const SEQ = Buffer.from('"seq":')
/** @type {Map<number, number>} */
const lastSeq = new Map()

/** @type {import('@kit/bench').WsProtocol} */
export default {
  connect(urls, index, shared) {
    const { tokens } = /** @type {Shared} */ (shared)
    return {
      url: `${urls[index % urls.length]}/ws`,
      protocols: ['chat.v1'],
      headers: { authorization: `Bearer ${tokens[index % tokens.length]}` },
    }
  },
  open() {},
  receive(ws, data, _isBinary, index, shared) {
    const frame = /** @type {Buffer} */ (data)
    const { room } = /** @type {Shared} */ (shared)
    if (frame.subarray(0, MESSAGE.length).equals(MESSAGE)) {
      const at = frame.indexOf(SEQ) + SEQ.length
      lastSeq.set(index, Number(frame.toString('latin1', at, frame.indexOf(0x2c, at))))
      return bodyOf(frame)
    }
    if (frame.subarray(0, JOINED.length).equals(JOINED)) return 'ready'
    if (frame.subarray(0, HELLO.length).equals(HELLO)) {
      ws.send(JSON.stringify({ type: 'join', room }))
    } else if (frame.subarray(0, RESYNC.length).equals(RESYNC)) {
      ws.send(JSON.stringify({ type: 'join', room, since: lastSeq.get(index) ?? 0 }))
    }
    return null
  },
  message(index, _seq, body, shared) {
    const { room } = /** @type {Shared} */ (shared)
    return `{"type":"send","room":"${room}","clientId":"${clientIdOf(index, body)}","body":"${body}"}`
  },
}
