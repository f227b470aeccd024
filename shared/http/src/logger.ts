import { pino, type DestinationStream, type Logger } from 'pino'

/**
 * The kit's pino logger: JSON lines on stdout (pretty-print with `pino-pretty` in a pipe, never
 * in production). `err` fields are serialized with their stack.
 *
 * @example
 * ```ts
 * const logger = createLogger({ name: 'url-shortener', level: config.LOG_LEVEL })
 * ```
 */
export function createLogger({
  name,
  level = 'info',
  destination,
}: { name?: string; level?: string; destination?: DestinationStream } = {}): Logger {
  const options = { level, ...(name ? { name } : {}) }
  return destination ? pino(options, destination) : pino(options)
}
