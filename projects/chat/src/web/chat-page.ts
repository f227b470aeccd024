/**
 * The demo client, one page served at `/`: sign in as a user, create or join rooms, send and
 * see messages, page back through history, see who is online and typing. It reconnects by
 * itself with backoff and resumes each room from the last seq it saw (kept in localStorage), so
 * a dropped connection or a restarted server loses nothing; unacknowledged messages are resent
 * with the same client id, so a retry never doubles one.
 */
export function chatPage({ title = 'Chat' }: { title?: string } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  :root { font: 15px/1.4 system-ui, sans-serif; color: #1d2433; background: #f4f6fa; }
  * { box-sizing: border-box; }
  body { margin: 0; height: 100vh; display: grid; grid-template-columns: 230px 1fr; }
  aside { background: #1d2433; color: #e8ecf4; padding: 14px; display: flex; flex-direction: column; gap: 10px; }
  aside h1 { font-size: 17px; margin: 0; }
  aside input, aside button, footer input, footer button, #login input, #login button {
    font: inherit; border-radius: 6px; border: 1px solid #c5cbd8; padding: 6px 8px; }
  aside input { width: 100%; }
  aside button, footer button, #login button { background: #3d6df2; color: #fff; border-color: #3d6df2; cursor: pointer; }
  #rooms { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
  #rooms li { padding: 6px 8px; border-radius: 6px; cursor: pointer; display: flex; justify-content: space-between; }
  #rooms li.active { background: #3d6df2; }
  .badge { background: #f25c3d; border-radius: 9px; padding: 0 7px; font-size: 12px; }
  #status { font-size: 12px; opacity: .8; }
  #status.online::before { content: '● '; color: #4cd07d; }
  #status.offline::before { content: '● '; color: #f25c3d; }
  main { display: grid; grid-template-rows: auto 1fr auto auto; min-height: 0; }
  header { padding: 10px 16px; background: #fff; border-bottom: 1px solid #dde2ec; display: flex; gap: 12px; align-items: baseline; }
  header h2 { margin: 0; font-size: 16px; }
  #online { font-size: 13px; color: #4a5568; }
  #messages { overflow-y: auto; padding: 12px 16px; display: flex; flex-direction: column; gap: 6px; }
  .msg { background: #fff; border-radius: 8px; padding: 6px 10px; max-width: 70%; box-shadow: 0 1px 2px #0001; }
  .msg.mine { align-self: flex-end; background: #e3ebff; }
  .msg .who { font-size: 12px; color: #4a5568; }
  .msg.pending { opacity: .55; }
  #older { align-self: center; font-size: 13px; background: none; border: none; color: #3d6df2; cursor: pointer; }
  #typing { height: 18px; padding: 0 16px; font-size: 12px; color: #4a5568; }
  footer { display: flex; gap: 8px; padding: 10px 16px; background: #fff; border-top: 1px solid #dde2ec; }
  footer input { flex: 1; }
  #login { position: fixed; inset: 0; background: #1d2433e6; display: grid; place-items: center; }
  #login form { background: #fff; padding: 24px; border-radius: 10px; display: flex; gap: 8px; }
  #error { color: #c53030; font-size: 12px; min-height: 16px; }
</style>
</head>
<body>
<aside>
  <h1>${title}</h1>
  <div id="status" class="offline">offline</div>
  <ul id="rooms"></ul>
  <form id="create"><input id="new-room" placeholder="new group" maxlength="100"></form>
  <form id="direct"><input id="dm-user" placeholder="message a user"></form>
  <form id="join-id"><input id="room-id" placeholder="join by room id"></form>
  <div id="error"></div>
</aside>
<main>
  <header><h2 id="room-title">No room</h2><span id="online"></span></header>
  <div id="messages"></div>
  <div id="typing"></div>
  <footer><form id="send" style="display:flex;gap:8px;flex:1"><input id="text" placeholder="Write a message" autocomplete="off" maxlength="16384"><button>Send</button></form></footer>
</main>
<div id="login"><form id="login-form"><input id="user" placeholder="your name (a-z 0-9 _ . -)" autocomplete="username"><button>Sign in</button></form></div>
<script type="module">
const $ = (id) => document.getElementById(id)
const store = {
  get: (k, d) => JSON.parse(localStorage.getItem('chat.' + k) ?? 'null') ?? d,
  set: (k, v) => localStorage.setItem('chat.' + k, JSON.stringify(v)),
}
const state = {
  token: store.get('token', null), user: store.get('user', null),
  rooms: new Map(), current: null, ws: null, attempt: 0, joined: new Set(),
  lastSeen: store.get('lastSeen', {}), pending: new Map(), typing: new Map(),
}
const api = async (method, path, body) => {
  const res = await fetch('/api' + path, {
    method, headers: { 'content-type': 'application/json', ...(state.token && { authorization: 'Bearer ' + state.token }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status === 401) return signOut()
  const json = res.status === 204 ? null : await res.json()
  if (!res.ok) throw new Error(json?.errors?.map((e) => e.path + ': ' + e.message).join(', ') || json?.detail)
  return json
}
const showError = (text) => { $('error').textContent = text ?? '' }

function roomView(id) {
  let room = state.rooms.get(id)
  if (!room) state.rooms.set(id, (room = { id, name: id, messages: new Map(), online: [], unread: 0, oldest: null }))
  return room
}
function renderRooms() {
  $('rooms').replaceChildren(...[...state.rooms.values()].map((room) => {
    const li = document.createElement('li')
    li.className = room.id === state.current ? 'active' : ''
    li.dataset.room = room.id
    li.append(room.name)
    if (room.unread > 0 && room.id !== state.current) {
      const badge = document.createElement('span'); badge.className = 'badge'; badge.textContent = room.unread; li.append(badge)
    }
    li.onclick = () => select(room.id)
    return li
  }))
}
function renderMessages() {
  const room = state.rooms.get(state.current)
  $('room-title').textContent = room ? room.name : 'No room'
  $('online').textContent = room ? 'online: ' + room.online.join(', ') : ''
  const items = []
  if (room && room.oldest !== null && room.oldest > 1) {
    const older = document.createElement('button'); older.id = 'older'; older.textContent = 'older messages'
    older.onclick = () => loadOlder(room); items.push(older)
  }
  const shown = room ? [...room.messages.values()].sort((a, b) => a.seq - b.seq) : []
  const pending = [...state.pending.values()].filter((p) => p.room === state.current)
  for (const m of [...shown, ...pending]) {
    const div = document.createElement('div')
    div.className = 'msg' + (m.sender === state.user ? ' mine' : '') + (m.seq === undefined ? ' pending' : '')
    div.dataset.seq = m.seq ?? ''
    const who = document.createElement('div'); who.className = 'who'; who.textContent = (m.sender ?? state.user) + (m.seq ? ' · #' + m.seq : ' · sending')
    const body = document.createElement('div'); body.className = 'body'; body.textContent = m.body
    div.append(who, body); items.push(div)
  }
  $('messages').replaceChildren(...items)
  $('messages').scrollTop = $('messages').scrollHeight
  const typing = [...(state.typing.get(state.current) ?? new Map()).entries()].filter(([u, t]) => u !== state.user && Date.now() - t < 3000)
  $('typing').textContent = typing.length ? typing.map(([u]) => u).join(', ') + ' typing…' : ''
}
const render = () => { renderRooms(); renderMessages() }

function send(frame) { if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame)) }
function join(id) { send({ type: 'join', room: id, ...(state.lastSeen[id] !== undefined && { since: state.lastSeen[id] }) }) }
function select(id) {
  state.current = id
  store.set('current', id)
  const room = roomView(id); room.unread = 0
  if (!state.joined.has(id)) join(id)
  markRead(room); render()
}
function markRead(room) {
  const seq = state.lastSeen[room.id]
  if (seq && room.id === state.current && room.readSent !== seq) { room.readSent = seq; send({ type: 'read', room: room.id, seq }) }
}
async function loadOlder(room) {
  const page = await api('GET', '/rooms/' + encodeURIComponent(room.id) + '/messages?limit=30' + (room.oldest ? '&before=' + room.oldest : ''))
  for (const m of page.messages) room.messages.set(m.seq, m)
  room.oldest = page.messages.length ? page.messages[0].seq : 1
  render()
}

function receive(frame) {
  switch (frame.type) {
    case 'hello': state.attempt = 0; $('status').className = 'online'; $('status').textContent = 'online as ' + frame.user
      for (const id of state.rooms.keys()) join(id); break
    case 'joined': {
      state.joined.add(frame.room); const room = roomView(frame.room); room.online = frame.online
      if (room.oldest === null) room.oldest = frame.since + 1
      for (const p of state.pending.values()) if (p.room === frame.room) send({ type: 'send', room: p.room, clientId: p.clientId, body: p.body })
      if (frame.room === state.current) markRead(room)
      render(); break
    }
    case 'message': {
      const room = roomView(frame.room)
      if (frame.seq <= (state.lastSeen[frame.room] ?? 0) && room.messages.has(frame.seq)) break
      room.messages.set(frame.seq, frame)
      if (room.oldest === null || frame.seq < room.oldest) room.oldest = frame.seq
      state.lastSeen[frame.room] = Math.max(frame.seq, state.lastSeen[frame.room] ?? 0); store.set('lastSeen', state.lastSeen)
      if (frame.sender === state.user) state.pending.delete(frame.clientId)
      // GET /api/rooms already counted what was missed up to its head: count only newer ones.
      const fresh = frame.seq > (room.head ?? 0)
      if (fresh) room.head = frame.seq
      if (frame.room !== state.current) { if (fresh) room.unread++ }
      else if (document.visibilityState === 'visible') markRead(room)
      render(); break
    }
    case 'ack': { const p = state.pending.get(frame.clientId); if (p) p.seq = frame.seq; break }
    case 'resync': state.joined.delete(frame.room); join(frame.room); break
    case 'presence': { const room = roomView(frame.room); const set = new Set(room.online)
      frame.online ? set.add(frame.user) : set.delete(frame.user); room.online = [...set].sort(); render(); break }
    case 'typing': { if (!state.typing.has(frame.room)) state.typing.set(frame.room, new Map())
      state.typing.get(frame.room).set(frame.user, Date.now()); render(); setTimeout(render, 3100); break }
    case 'error': showError(frame.code + ': ' + frame.detail + (frame.errors ? ' (' + frame.errors.map((e) => e.path + ' ' + e.message).join(', ') + ')' : ''))
      if (frame.code === 'unavailable' && frame.clientId) setTimeout(() => { const p = state.pending.get(frame.clientId); if (p) send({ type: 'send', room: p.room, clientId: p.clientId, body: p.body }) }, frame.retryAfterMs ?? 1000)
      break
  }
}

function connect() {
  if (!state.token) return
  const url = location.origin.replace(/^http/, 'ws') + '/ws'
  const ws = new WebSocket(url, ['chat.v1', 'bearer.' + state.token])
  state.ws = ws
  ws.onmessage = (event) => receive(JSON.parse(event.data))
  ws.onclose = (event) => {
    state.joined.clear(); $('status').className = 'offline'
    if (event.code === 1008) { $('status').textContent = 'signed out'; return signOut() }
    // Exponential backoff with full jitter: a restarted server is not stampeded by every tab.
    const delay = Math.random() * Math.min(10000, 250 * 2 ** state.attempt++)
    $('status').textContent = 'reconnecting…'
    setTimeout(connect, delay)
  }
}
function signOut() { state.token = null; store.set('token', null); $('login').style.display = 'grid' }

$('login-form').onsubmit = async (event) => {
  event.preventDefault(); showError()
  try {
    const { token, user } = await api('POST', '/tokens', { user: $('user').value.trim().toLowerCase() })
    state.token = token; state.user = user; store.set('token', token); store.set('user', user); start()
  } catch (error) { showError(error.message) }
}
$('create').onsubmit = async (event) => {
  event.preventDefault(); showError()
  try { const room = await api('POST', '/rooms', { name: $('new-room').value }); $('new-room').value = ''
    roomView(room.id).name = room.name; select(room.id) } catch (error) { showError(error.message) }
}
$('direct').onsubmit = async (event) => {
  event.preventDefault(); showError()
  try { const room = await api('POST', '/rooms/direct', { with: $('dm-user').value.trim().toLowerCase() }); $('dm-user').value = ''
    roomView(room.id).name = room.name; select(room.id) } catch (error) { showError(error.message) }
}
$('join-id').onsubmit = async (event) => {
  event.preventDefault(); showError()
  try { const id = $('room-id').value.trim(); const room = await api('POST', '/rooms/' + encodeURIComponent(id) + '/members')
    $('room-id').value = ''; roomView(room.id).name = room.name; select(room.id) } catch (error) { showError(error.message) }
}
$('send').onsubmit = (event) => {
  event.preventDefault()
  const body = $('text').value
  if (!body || !state.current) return
  const clientId = crypto.randomUUID()
  state.pending.set(clientId, { clientId, room: state.current, body })
  send({ type: 'send', room: state.current, clientId, body })
  $('text').value = ''; render()
}
let lastTyping = 0
$('text').oninput = () => { if (state.current && Date.now() - lastTyping > 2000) { lastTyping = Date.now(); send({ type: 'typing', room: state.current }) } }

async function start() {
  $('login').style.display = 'none'
  const { rooms } = await api('GET', '/rooms')
  for (const r of rooms) { const room = roomView(r.id); room.name = r.name; room.unread = r.unread; room.head = r.head }
  render(); connect()
  const last = store.get('current', null)
  if (!state.current && rooms.length) select(rooms.some((r) => r.id === last) ? last : rooms[0].id)
}
window.chat = state
if (state.token) start().catch(signOut)
</script>
</body>
</html>
`
}
