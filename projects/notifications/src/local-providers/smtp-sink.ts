import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { createScriptedLedger, type ProviderScript } from './provider-script.ts'

export type ReceivedMail = {
  key: string
  from: string
  to: string[]
  subject: string
  /** The raw message (headers and body) as received. */
  raw: string
}

/** The value of a header in a raw message's header block (unfolded), or undefined. */
function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? ''
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ')
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded)
  return match?.[1]?.trim()
}

/**
 * A local SMTP server (smtp-server) that keeps what it receives, one message per
 * `X-Idempotency-Key` (else Message-ID): a second copy is accepted (250) but not kept again. It
 * answers 451 (try again later) when scripted to fail, so senders retry as they would on a real
 * relay's temporary failure.
 *
 * @example
 * ```ts
 * const smtp = await startSmtpSink({ name: 'smtp-primary' })
 * // SMTP_URLS=${smtp.url}
 * [...smtp.ledger.accepted.values()].map((mail) => mail.subject)
 * ```
 */
export async function startSmtpSink({
  name,
  port = 0,
  host = '127.0.0.1',
  script,
}: {
  name: string
  port?: number
  host?: string
  script?: Partial<ProviderScript>
}) {
  const scripted = createScriptedLedger<ReceivedMail>(script)
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const key = headerOf(raw, 'X-Idempotency-Key') ?? headerOf(raw, 'Message-ID') ?? raw
        const mail: ReceivedMail = {
          key,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          subject: headerOf(raw, 'Subject') ?? '',
          raw,
        }
        scripted.handle(key, mail).then(
          (verdict) => {
            if (verdict !== 'fail') return callback()
            const error = Object.assign(new Error(`${name}: try again later`), {
              responseCode: 451,
            })
            callback(error)
          },
          (error: Error) => callback(error)
        )
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  // smtp-server logs nothing with logger:false; a client error must not crash the process.
  server.on('error', () => undefined)
  const address = server.server.address() as AddressInfo
  return {
    name,
    url: `smtp://${host}:${address.port}`,
    ledger: scripted.ledger,
    setScript: (next: Partial<ProviderScript>) => scripted.setScript(next),
    release: () => scripted.release(),
    close: () =>
      new Promise<void>((resolve) => {
        scripted.release()
        server.close(() => resolve())
      }),
  }
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>
