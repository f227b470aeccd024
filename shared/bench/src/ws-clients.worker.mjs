// One worker thread of the WebSocket driver (ws-driver.ts): it holds its share of the clients,
// runs its share of the senders and counts what its clients receive. Plain JavaScript, because a
// Worker cannot load TypeScript. The wire protocol comes from the scenario's adapter module.
import process from 'node:process'
import { clearInterval, setInterval, setTimeout } from 'node:timers'
import { parentPort, workerData } from 'node:worker_threads'
import { WebSocket } from 'ws'

/** @type {{ adapter: string, urls: string[], clients: number[], senders: number[], shared: unknown, connectConcurrency: number }} */
const config = workerData
const { default: protocol } = /** @type {{ default: import('./ws-driver.ts').WsProtocol }} */ (
  await import(config.adapter)
)
const now = () => Number(process.hrtime.bigint())

/** @type {Map<number, WebSocket>} */
const sockets = new Map()
let latencies = new Float64Array(1 << 16)
let count = 0
let measuring = false
let deliveries = 0
let sent = 0
let errors = 0
let dropped = 0
let lastDelivery = 0
/** @type {{ mode: 'closed' | 'open', window: number, ratePerSender: number } | undefined} */
let sending
/** @type {NodeJS.Timeout | undefined} */
let openLoop
const messageSeq = new Map()

function record(ms) {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[count++] = ms
}

function send(index) {
  const ws = sockets.get(index)
  if (!ws || ws.readyState !== WebSocket.OPEN) return
  const seq = (messageSeq.get(index) ?? 0) + 1
  messageSeq.set(index, seq)
  ws.send(protocol.message(index, seq, `${index}:${now()}`, config.shared))
  sent++
}

function connectOne(index) {
  return new Promise((resolve) => {
    const started = now()
    const { url, protocols, headers } = protocol.connect(config.urls, index, config.shared)
    const ws = new WebSocket(url, protocols ?? [], { headers, perMessageDeflate: false })
    let ready = false
    ws.on('error', () => {})
    ws.on('unexpected-response', () => {
      errors++
      ws.terminate()
    })
    ws.on('open', () => protocol.open(ws, index, config.shared))
    ws.on('message', (data, isBinary) => {
      const outcome = protocol.receive(ws, data, isBinary, index, config.shared)
      if (outcome === null || outcome === undefined) return
      if (outcome === 'ready') {
        if (!ready) {
          ready = true
          sockets.set(index, ws)
          resolve((now() - started) / 1e6)
        }
        return
      }
      const colon = outcome.indexOf(':')
      const sender = Number(outcome.slice(0, colon))
      const at = Number(outcome.slice(colon + 1))
      lastDelivery = now()
      if (measuring) {
        deliveries++
        record((lastDelivery - at) / 1e6)
      }
      // Closed loop: a sender sends its next message when its own comes back to it.
      if (sender === index && sending?.mode === 'closed') send(index)
    })
    ws.on('close', () => {
      if (!ready) {
        errors++
        resolve(undefined)
      } else if (sockets.get(index) === ws) {
        sockets.delete(index)
        if (!closing) dropped++
      }
    })
  })
}

let closing = false

/**
 * Connects part `part` of `parts` of this thread's clients (all of them by default).
 * @param {number} part
 * @param {number} parts
 */
async function connectAll(part = 0, parts = 1) {
  const connectTimes = []
  const share = Math.ceil(config.clients.length / parts)
  const mine = config.clients.slice(part * share, (part + 1) * share)
  let next = 0
  const lanes = Array.from(
    { length: Math.min(config.connectConcurrency, mine.length) },
    async () => {
      while (next < mine.length) {
        const index = mine[next++]
        const ms = await connectOne(index)
        if (ms !== undefined) connectTimes.push(ms)
      }
    }
  )
  await Promise.all(lanes)
  return connectTimes
}

parentPort.on('message', async (command) => {
  switch (command.cmd) {
    case 'connect': {
      const started = now()
      const times = await connectAll(command.part, command.parts)
      const buffer = Float64Array.from(times).buffer
      parentPort.postMessage(
        {
          event: 'connected',
          connected: times.length,
          errors,
          seconds: (now() - started) / 1e9,
          times: buffer,
        },
        [buffer]
      )
      return
    }
    case 'send': {
      sending = command.sending
      if (sending.mode === 'closed') {
        for (const index of config.senders) for (let i = 0; i < sending.window; i++) send(index)
      } else {
        const started = now()
        const perSender = new Map(config.senders.map((index) => [index, 0]))
        openLoop = setInterval(() => {
          const due = Math.floor(((now() - started) / 1e9) * sending.ratePerSender)
          for (const [index, done] of perSender) {
            for (let n = done; n < due; n++) send(index)
            perSender.set(index, due)
          }
        }, 5)
      }
      parentPort.postMessage({ event: 'sending' })
      return
    }
    case 'measure':
      count = 0
      deliveries = 0
      sent = 0
      errors = 0
      dropped = 0
      measuring = true
      parentPort.postMessage({ event: 'measuring' })
      return
    case 'report': {
      measuring = false
      const buffer = latencies.slice(0, count).buffer
      parentPort.postMessage(
        {
          event: 'report',
          deliveries,
          sent,
          errors,
          dropped,
          connected: sockets.size,
          latencies: buffer,
        },
        [buffer]
      )
      return
    }
    case 'stop': {
      sending = undefined
      clearInterval(openLoop)
      // Drained when nothing has arrived for `quietMs` (the backlog of the round is delivered).
      const deadline = now() + command.timeoutMs * 1e6
      while (now() < deadline && now() - lastDelivery < command.quietMs * 1e6) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      parentPort.postMessage({ event: 'stopped' })
      return
    }
    case 'close': {
      closing = true
      for (const ws of sockets.values()) ws.terminate()
      sockets.clear()
      parentPort.postMessage({ event: 'closed' })
      return
    }
  }
})
parentPort.postMessage({ event: 'ready' })
