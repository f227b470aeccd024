// Socket.IO 4 over a plain WebSocket (Engine.IO protocol 4, WebSocket transport only, as the
// server runs): `0{…}` open → send `40` (connect to /), `40{…}` → ready (the server joined the
// room in its connection handler); `2` is the server's ping, answered `3`; events are
// `42["name",{…}]`.
import { bodyOf, clientIdOf } from './body.mjs'

/** @type {import('@kit/bench').WsProtocol} */
export default {
  connect(urls, index) {
    return { url: `${urls[index % urls.length]}/socket.io/?EIO=4&transport=websocket` }
  },
  open() {},
  receive(ws, data) {
    const frame = /** @type {Buffer} */ (data)
    const first = frame[0]
    if (first === 0x34 /* 4 */) {
      if (frame[1] === 0x32 /* 42: an event */) return bodyOf(frame)
      if (frame[1] === 0x30 /* 40: connected */) return 'ready'
      return null
    }
    if (first === 0x32 /* 2: ping */) ws.send('3')
    else if (first === 0x30 /* 0: open */) ws.send('40')
    return null
  },
  message(index, _seq, body) {
    return `42["send",{"room":"r","clientId":"${clientIdOf(index, body)}","body":"${body}"}]`
  },
}
