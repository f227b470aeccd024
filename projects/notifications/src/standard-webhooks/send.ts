import http from 'node:http'
import https from 'node:https'
import { classifyResponse, type AttemptOutcome } from './retry-schedule.ts'
import { webhookHeaders } from './signature.ts'

export type AttemptResult = AttemptOutcome & {
  /** The HTTP status, when the receiver answered. */
  status?: number
  durationMs: number
}

export type SendWebhookOptions = {
  url: string | URL
  /** `webhook-id`: the same on every attempt of this message. */
  id: string
  /** The JSON text to send, exactly as signed. */
  body: string
  /** The endpoint's current secrets: two during a rotation. */
  secrets: readonly string[]
  /** The whole attempt (connect, send, answer) is aborted after this. Spec: 15-30 s. */
  timeoutMs?: number
  /** Agents that decide where sockets may connect (an SSRF guard); default Node's global ones. */
  agents?: { http?: http.Agent; https?: https.Agent }
  /** This attempt's time, for `webhook-timestamp`. */
  now?: number
  /** Extra request headers (e.g. an idempotency key for the receiver's logs). */
  headers?: Record<string, string>
}

/** Bytes of an answer read before the socket is dropped: a receiver's body is never needed. */
const MAX_ANSWER_BYTES = 64 * 1024

/**
 * One delivery attempt per Standard Webhooks: signed headers for this attempt, a POST that never
 * follows a redirect, a timeout over the whole exchange, and the answer classified (2xx delivered,
 * 410 disable, anything else retried with Retry-After). A connection error or a timeout is a
 * `retry`; an agent refusing the address (code ERR_SSRF_BLOCKED) is reported as `blocked_address`.
 *
 * @example
 * ```ts
 * const result = await sendWebhook({ url, id: 'msg_2x7', body: JSON.stringify(payload), secrets })
 * if (result.kind === 'retry') scheduleRetry(result.retryAfterMs)
 * ```
 */
export function sendWebhook({
  url,
  id,
  body,
  secrets,
  timeoutMs = 15_000,
  agents = {},
  now = Date.now(),
  headers = {},
}: SendWebhookOptions): Promise<AttemptResult> {
  const target = new URL(url)
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const secure = target.protocol === 'https:'
  if (!secure && target.protocol !== 'http:') {
    return Promise.resolve({ kind: 'abort', reason: 'unsupported_scheme', durationMs: 0 })
  }

  return new Promise((resolve) => {
    let settled = false
    const finish = (result: AttemptResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    let request: http.ClientRequest
    const timer = setTimeout(() => {
      request.destroy()
      finish({ kind: 'retry', reason: 'timeout', durationMs: elapsed() })
    }, timeoutMs)

    const send = (retryOfStaleSocket: boolean) => {
      request = (secure ? https : http).request(target, {
        method: 'POST',
        agent: (secure ? agents.https : agents.http) ?? undefined,
        headers: {
          ...headers,
          ...webhookHeaders({ id, body, secrets, now }),
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'kit-notifications/1 (Standard Webhooks)',
        },
      })
      const sent = request
      sent.once('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the receiver closed while it sat idle fails at once, before any
        // answer: nothing was received, so sending again on a fresh socket is safe (Node's
        // http docs recommend it). Once only, and never after an answer began.
        if (
          !retryOfStaleSocket &&
          sent.reusedSocket &&
          (error.code === 'ECONNRESET' || error.code === 'EPIPE')
        ) {
          send(true)
          return
        }
        const reason =
          error.code === 'ERR_SSRF_BLOCKED'
            ? 'blocked_address'
            : `connection_error${error.code ? `_${error.code.toLowerCase()}` : ''}`
        finish({ kind: 'retry', reason, durationMs: elapsed() })
      })
      sent.once('response', (response) => {
        const status = response.statusCode ?? 0
        const answerHeaders = new Headers()
        for (const [name, value] of Object.entries(response.headers)) {
          if (typeof value === 'string') answerHeaders.set(name, value)
        }
        let read = 0
        response.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read > MAX_ANSWER_BYTES) response.destroy()
        })
        const done = () =>
          finish({ ...classifyResponse(status, answerHeaders), status, durationMs: elapsed() })
        response.once('end', done)
        response.once('close', done)
        response.once('error', done)
      })
      sent.end(body)
    }
    send(false)
  })
}
