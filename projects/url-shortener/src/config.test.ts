import { describe, expect, it } from 'vitest'
import { ConfigError } from '@kit/config'
import { DEFAULT_DENY_HOSTS, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('when the environment is empty, gives the embedded defaults', () => {
    const config = loadConfig({})

    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      DB_FILE: './data/url-shortener.db',
      PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
      ANONYMOUS_CREATE: true,
      REDIRECT_STATUS: 302,
      CODE_STRATEGY: 'random',
      CODE_LENGTH: 9,
      TRACK_CLICKS: true,
      DENY_HOSTS: DEFAULT_DENY_HOSTS,
      ACCESS_LOG: 'off',
      DRAIN_DELAY_MS: 1000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
    })
    expect(config.REDIS_URL).toBeUndefined()
    expect(config.API_KEY).toBeUndefined()
  })

  it('when values are given as strings, coerces them', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://127.0.0.1:6380',
      PUBLIC_BASE_URL: 'https://sho.rt/',
      ANONYMOUS_CREATE: 'false',
      REDIRECT_STATUS: '308',
      DENY_HOSTS: ' Evil.example , ,spam.test',
      TRACK_CLICKS: '0',
    })

    expect(config).toMatchObject({
      PORT: 8080,
      REDIS_URL: 'redis://127.0.0.1:6380',
      PUBLIC_BASE_URL: 'https://sho.rt',
      ANONYMOUS_CREATE: false,
      REDIRECT_STATUS: 308,
      DENY_HOSTS: ['evil.example', 'spam.test'],
      TRACK_CLICKS: false,
    })
  })

  it('when a variable is empty, treats it as unset', () => {
    const config = loadConfig({ REDIS_URL: '', API_KEY: ' ' })

    expect(config.REDIS_URL).toBeUndefined()
    expect(config.API_KEY).toBeUndefined()
  })

  it('when several keys are bad, throws one ConfigError naming every one', () => {
    const load = () =>
      loadConfig({
        PORT: 'eighty',
        REDIRECT_STATUS: '303',
        CODE_LENGTH: '6',
        REDIS_URL: 'http://nope',
        CODE_STRATEGY: 'snowflake-scrambled',
      })

    expect(load).toThrow(ConfigError)
    try {
      load()
    } catch (error) {
      expect((error as ConfigError).keys.sort()).toEqual(
        ['CODE_LENGTH', 'CODE_SECRET', 'PORT', 'REDIRECT_STATUS', 'REDIS_URL'].sort()
      )
      // One line per bad key, after the heading: what exitOnConfigError prints.
      expect((error as ConfigError).message.split('\n')).toHaveLength(6)
    }
  })
})
