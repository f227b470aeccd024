/** One bad setting: the variable (`PORT`) or document path (`POLICIES.policies.api.limit`). */
export type ConfigIssue = { key: string; message: string }

/**
 * The configuration does not describe a runnable service. `message` has one line per issue,
 * every bad key at once, so an operator fixes them in one go; `main.ts` prints it and exits 1
 * without a stack trace (it is the operator's input, not a bug).
 *
 * @example
 * ```ts
 * throw new ConfigError([{ key: 'PORT', message: 'Too big: expected number to be <=65535' }])
 * ```
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(({ key, message }) => `  ${key}: ${message}`)
    super(`Invalid configuration:\n${lines.join('\n')}`)
    this.name = this.constructor.name
    this.issues = issues
  }

  /** The keys at fault, each once, in the order first reported. */
  get keys(): string[] {
    return [...new Set(this.issues.map((issue) => issue.key))]
  }
}

/**
 * For `main.ts`: a ConfigError is printed as its lines and the process exits 1; anything else
 * is rethrown (a bug keeps its stack trace).
 *
 * @example
 * ```ts
 * const config = await loadConfig(process.env).catch(exitOnConfigError)
 * // or, around a whole start-up:
 * try { await start() } catch (error) { exitOnConfigError(error) }
 * ```
 */
export function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}
