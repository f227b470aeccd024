import type { z } from 'zod'
import { ConfigError, type ConfigIssue } from './config-error.ts'

export type ParseEnvOptions<T> = {
  /**
   * Checks across keys, run even when the schema failed (on the raw, present variables), so one
   * run names every problem. Push an issue per fault.
   */
  check?: (present: Record<string, string>, issues: ConfigIssue[], parsed: T | undefined) => void
}

/**
 * Parses the environment with a zod schema, once, at start-up. An empty variable counts as unset
 * (`REDIS_URL=` in a compose file keeps the embedded default). Every bad key is reported at
 * once in a ConfigError, each named by its variable.
 *
 * @example
 * ```ts
 * const schema = z.object({
 *   PORT: z.coerce.number().int().min(0).max(65_535).default(3002),
 *   REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
 * })
 * export const loadConfig = (env: NodeJS.ProcessEnv) => parseEnv(schema, env)
 * ```
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
  { check }: ParseEnvOptions<z.output<S>> = {}
): z.output<S> {
  const present: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') present[key] = value
  }
  const result = schema.safeParse(present)
  const issues: ConfigIssue[] = (result.error?.issues ?? []).map((issue) => ({
    key: issue.path.map(String).join('.') || '(environment)',
    message: issue.message,
  }))
  check?.(present, issues, result.success ? result.data : undefined)
  if (!result.success || issues.length > 0) throw new ConfigError(issues)
  return result.data
}
