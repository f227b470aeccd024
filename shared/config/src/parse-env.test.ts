import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError } from './config-error.ts'
import { parseEnv } from './parse-env.ts'

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  MODE: z.enum(['a', 'b']).default('a'),
})

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('parseEnv()', () => {
  it('when nothing is set, answers the defaults', () => {
    expect(parseEnv(schema, {})).toEqual({ PORT: 3000, MODE: 'a' })
  })

  it('when a variable is empty or blank, treats it as unset', () => {
    expect(parseEnv(schema, { REDIS_URL: '', PORT: '  ' })).toEqual({ PORT: 3000, MODE: 'a' })
  })

  it('when several variables are bad, names every one in one error, a line each', () => {
    const error = configErrorOf(() =>
      parseEnv(schema, { PORT: '99999', REDIS_URL: 'http://x', MODE: 'c' })
    )

    expect(error.keys).toEqual(['PORT', 'REDIS_URL', 'MODE'])
    expect(error.message.split('\n')).toHaveLength(4)
    expect(error.message).toMatch(/^Invalid configuration:\n {2}PORT: /)
  })

  it('when a cross-key check fails next to a schema error, reports both', () => {
    const error = configErrorOf(() =>
      parseEnv(
        schema,
        { PORT: 'x', MODE: 'b' },
        {
          check: (present, issues) => {
            if (present.MODE === 'b' && present.REDIS_URL === undefined) {
              issues.push({ key: 'REDIS_URL', message: 'required when MODE is b' })
            }
          },
        }
      )
    )

    expect(error.issues).toEqual([
      { key: 'PORT', message: expect.any(String) },
      { key: 'REDIS_URL', message: 'required when MODE is b' },
    ])
  })

  it('when only a cross-key check fails, throws', () => {
    expect(() =>
      parseEnv(schema, {}, { check: (_p, issues) => issues.push({ key: 'X', message: 'no' }) })
    ).toThrow(ConfigError)
  })
})
