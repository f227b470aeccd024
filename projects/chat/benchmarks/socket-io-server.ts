/**
 * The peer a user would pick instead: Socket.IO 4 doing the same broadcast, `io.to(room).emit`
 * (it frames a message once for every socket, since socket.io-adapter 2.5). WebSocket transport
 * only (no long-polling, so no sticky sessions), no compression. With REDIS_URL, instances share
 * rooms through @socket.io/redis-adapter. Same message JSON as the chat.
 */
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const port = Number(process.env.PORT ?? 3104)
const server = createServer((req, res) => {
  res.statusCode = req.url === '/healthz' ? 200 : 404
  res.end()
})
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
})
const publisher = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined
const subscriber = publisher?.duplicate()
if (publisher && subscriber) io.adapter(createAdapter(publisher, subscriber))

let seq = 0
io.on('connection', (socket) => {
  void socket.join('room')
  socket.on('send', (sent: { room: string; clientId: string; body: string }) => {
    io.to('room').emit('message', {
      type: 'message',
      room: sent.room,
      seq: ++seq,
      sender: 'anonymous',
      clientId: sent.clientId,
      body: sent.body,
      at: Date.now(),
    })
  })
})
server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => {
  void io.close()
  void publisher?.quit()
  void subscriber?.quit()
})
