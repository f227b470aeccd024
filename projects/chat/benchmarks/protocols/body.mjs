// The driver puts `<sender>:<sent at>` in every message body (digits and a colon: no escapes),
// so receivers find it without parsing the whole JSON frame.
import { Buffer } from 'node:buffer'
const MARK = Buffer.from('"body":"')

/**
 * The body of a message frame, or null.
 * @param {Buffer} data
 * @returns {string | null}
 */
export function bodyOf(data) {
  const start = data.indexOf(MARK)
  if (start === -1) return null
  const from = start + MARK.length
  return data.toString('latin1', from, data.indexOf(0x22, from))
}

/**
 * A client message id unique to the message: its sender and send time.
 * @param {number} index
 * @param {string} body
 */
export function clientIdOf(index, body) {
  return `b${index}-${body.slice(body.indexOf(':') + 1)}`
}
