/**
 * The stack's floor: a bare `ws` server doing the naive broadcast, `ws.send(text)` for every
 * socket of the room (each call encodes and frames the message again). One room, no auth, no
 * storage, no ordering across instances. With REDIS_URL, messages go through one Redis pub/sub
 * channel to every instance (the naive scale-out). Same message JSON as the chat.
 */
import { createServer } from 'node:http'
import { Redis } from 'ioredis'
import { WebSocketServer, type WebSocket } from 'ws'

const port = Number(process.env.PORT ?? 3103)
const room = new Set<WebSocket>()
let seq = 0

const broadcast = (text: string) => {
  for (const ws of room) ws.send(text)
}

const publisher = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined
const subscriber = publisher?.duplicate()
if (subscriber) {
  await subscriber.subscribe('room')
  subscriber.on('message', (_channel, text: string) => broadcast(text))
}

const server = createServer((req, res) => {
  res.statusCode = req.url === '/healthz' ? 200 : 404
  res.end()
})
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 })
wss.on('connection', (ws) => {
  room.add(ws)
  ws.on('close', () => room.delete(ws))
  ws.on('message', (data) => {
    const sent = JSON.parse((data as Buffer).toString()) as {
      room: string
      clientId: string
      body: string
    }
    const text = JSON.stringify({
      type: 'message',
      room: sent.room,
      seq: ++seq,
      sender: 'anonymous',
      clientId: sent.clientId,
      body: sent.body,
      at: Date.now(),
    })
    if (publisher) void publisher.publish('room', text)
    else broadcast(text)
  })
  ws.send('{"type":"joined"}')
})
server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => {
  for (const ws of room) ws.terminate()
  server.close()
  void publisher?.quit()
  void subscriber?.quit()
})
