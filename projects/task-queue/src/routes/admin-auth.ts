import { timingSafeEqual } from 'node:crypto'
import { HttpError } from '@kit/http'
import type { MiddlewareHandler } from 'hono'

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Admin routes: `Authorization: Bearer <ADMIN_KEY>`, or HTTP Basic with the key as password
 * (any user name), which a browser asks for on its own (the dashboard's write mode).
 */
export function adminAuth(adminKey: string): MiddlewareHandler {
  return async function requireAdmin(c, next) {
    const header = c.req.header('authorization') ?? ''
    const [scheme, value = ''] = header.split(' ', 2)
    let given: string | undefined
    if (scheme?.toLowerCase() === 'bearer') given = value
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      given = decoded.slice(decoded.indexOf(':') + 1)
    }
    if (given !== undefined && same(given, adminKey)) return next()
    throw new HttpError(401, 'admin_key_required', 'This route needs the admin key', {
      headers: { 'www-authenticate': 'Basic realm="task-queue admin", charset="UTF-8"' },
    })
  }
}
