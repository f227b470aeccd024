import { startHttpProvider, type HttpProvider } from '../local-providers/http-provider.ts'
import { startSmtpSink, type SmtpSink } from '../local-providers/smtp-sink.ts'

/**
 * The embedded mode's providers: an SMTP server and two SMS and two push providers (a primary
 * and a backup each), on loopback sockets, so every channel's real wire runs with nothing
 * installed. What they received is at `<url>/received` (HTTP) and in the logs.
 */
export async function startLocalProviders(need: { smtp: boolean; sms: boolean; push: boolean }) {
  const smtp: SmtpSink[] = need.smtp ? [await startSmtpSink({ name: 'smtp-local' })] : []
  const sms: HttpProvider[] = need.sms
    ? [
        await startHttpProvider({ kind: 'sms', name: 'sms-local-primary' }),
        await startHttpProvider({ kind: 'sms', name: 'sms-local-backup' }),
      ]
    : []
  const push: HttpProvider[] = need.push
    ? [
        await startHttpProvider({ kind: 'push', name: 'push-local-primary' }),
        await startHttpProvider({ kind: 'push', name: 'push-local-backup' }),
      ]
    : []
  return {
    urls: {
      smtp: smtp.map((p) => p.url),
      sms: sms.map((p) => p.url),
      push: push.map((p) => p.url),
    },
    async close() {
      await Promise.all([...smtp, ...sms, ...push].map((p) => p.close()))
    },
  }
}
