// The raw ws baseline's protocol: connect to /ws (one room), ready on `joined`.
import { Buffer } from 'node:buffer'
import { bodyOf, clientIdOf } from './body.mjs'

const JOINED = Buffer.from('{"type":"joined"')

/** @type {import('@kit/bench').WsProtocol} */
export default {
  connect(urls, index) {
    return { url: `${urls[index % urls.length]}/ws` }
  },
  open() {},
  receive(_ws, data) {
    const frame = /** @type {Buffer} */ (data)
    if (frame.subarray(0, JOINED.length).equals(JOINED)) return 'ready'
    return bodyOf(frame)
  },
  message(index, _seq, body) {
    return `{"type":"send","room":"r","clientId":"${clientIdOf(index, body)}","body":"${body}"}`
  },
}
