import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// .pnpmfile.cjs is what lets `pnpm install` build better-sqlite3 on a machine that reaches only
// the npm registry (CI proves that end to end with an empty store). Here: what it hands node-gyp,
// and that it leaves alone a machine that already says where Node's headers are.
type Config = { extraEnv?: Record<string, string> }
const require = createRequire(import.meta.url)
const { hooks } = require('../.pnpmfile.cjs') as {
  hooks: { updateConfig: (config: Config) => Config }
}

describe('.pnpmfile.cjs', () => {
  it('when nothing says where Node headers are, points node-gyp at the running Node own', () => {
    const saved = process.env.npm_config_nodedir
    delete process.env.npm_config_nodedir
    try {
      const config = hooks.updateConfig({ extraEnv: { KEEP: '1' } })

      const nodedir = config.extraEnv?.npm_config_nodedir
      expect(nodedir).toBeDefined()
      expect(existsSync(join(nodedir!, 'include', 'node', 'node_version.h'))).toBe(true)
      expect(config.extraEnv?.KEEP).toBe('1')
    } finally {
      if (saved !== undefined) process.env.npm_config_nodedir = saved
    }
  })

  it('when the user already set npm_config_nodedir, changes nothing', () => {
    const saved = process.env.npm_config_nodedir
    process.env.npm_config_nodedir = '/somewhere/else'
    try {
      const config = { extraEnv: { KEEP: '1' } }

      expect(hooks.updateConfig(config)).toBe(config)
    } finally {
      if (saved === undefined) delete process.env.npm_config_nodedir
      else process.env.npm_config_nodedir = saved
    }
  })
})
