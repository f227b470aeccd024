/** One Server-Sent Event as a client sees it. */
export type SseEvent = { id?: string; event: string; data: string }

/**
 * A minimal EventSource for tests (Node 20 has none): opens the stream with fetch, parses events
 * as they arrive, and lets the test await the next one. `close()` drops the connection, as a
 * browser losing its network would.
 */
export async function openSse(url: string, { lastEventId }: { lastEventId?: string } = {}) {
  const controller = new AbortController()
  const res = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
    },
    signal: controller.signal,
  })
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`)
  const queue: SseEvent[] = []
  let wake: (() => void) | undefined
  let ended = false
  void (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event: SseEvent = { event: 'message', data: '' }
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue
            const [field, ...rest] = line.split(':')
            const value = rest.join(':').replace(/^ /, '')
            if (field === 'id') event.id = value
            else if (field === 'event') event.event = value
            else if (field === 'data') data.push(value)
          }
          if (data.length === 0 && event.id === undefined) continue
          event.data = data.join('\n')
          queue.push(event)
          wake?.()
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true
      wake?.()
    }
  })()

  return {
    /** The next event of the given type, within `timeoutMs`. */
    async next(type = 'notification', timeoutMs = 10_000): Promise<SseEvent> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const index = queue.findIndex((e) => e.event === type)
        if (index >= 0) return queue.splice(index, 1)[0]!
        if (ended) throw new Error(`stream ended before a ${type} event`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, left).unref()
        })
      }
    },
    /** Events received and not yet taken. */
    pending: () => [...queue],
    close: () => controller.abort(),
  }
}
