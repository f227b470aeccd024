// pnpm reads this file on every install. It only points node-gyp at the Node.js headers this
// machine already has, so native addons (better-sqlite3) build without a network.
//
// better-sqlite3 installs with `prebuild-install || node-gyp rebuild`. Where GitHub is
// reachable the prebuilt binary is used and nothing here matters. Where only the npm registry is
// reachable (CI, air-gapped machines), node-gyp builds from source and, unless told where Node's
// headers are, downloads them from nodejs.org and fails. pnpm >= 11 passes no npm_config_* of
// the user's to install scripts (https://pnpm.io/scripts#environment-variables), so an
// `nodedir` in ~/.npmrc is not seen either; `extraEnv` is pnpm's way to pass it.
const fs = require('node:fs')
const path = require('node:path')

/** The directory holding include/node for the running Node.js, if its version matches. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  const versionHeader = path.join(prefix, 'include', 'node', 'node_version.h')
  let text
  try {
    text = fs.readFileSync(versionHeader, 'utf8')
  } catch {
    return undefined
  }
  const part = (name) => text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1]
  const version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`
  return version === process.versions.node ? prefix : undefined
}

module.exports = {
  hooks: {
    updateConfig(config) {
      if (process.env.npm_config_nodedir) return config
      const nodedir = localNodeDir()
      if (!nodedir) return config
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: nodedir } }
    },
  },
}
