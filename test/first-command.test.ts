import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@kit/testing'
import { describe, expect, it } from 'vitest'

// .ci/first-command is how CI proves the README's first command: it runs a command, waits for
// GET /healthz on the default port, sends SIGTERM to the node process and expects a clean exit.
// Each case hands it a small stand-in service (a real process on a real port) that behaves well
// or badly, and checks the script tells them apart.
const script = fileURLToPath(new URL('../.ci/first-command', import.meta.url))

/** A `dist/main.js` (the name the script looks for) answering /healthz as told. */
function standIn(behaviour: { onTerm: 'log' | 'ignore' | 'silent'; exitAtOnce?: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'first-command-'))
  mkdirSync(join(dir, 'dist'))
  writeFileSync(
    join(dir, 'dist', 'main.js'),
    `
    const http = require('node:http')
    if (${behaviour.exitAtOnce === true}) { console.error('Error: boom'); process.exit(1) }
    const server = http.createServer((req, res) => res.end(req.url === '/healthz' ? '{"status":"ok"}' : ''))
    server.listen(Number(process.argv[2]), '127.0.0.1')
    process.on('SIGTERM', () => {
      if (${JSON.stringify(behaviour.onTerm)} === 'ignore') return
      server.close(() => {
        if (${JSON.stringify(behaviour.onTerm)} === 'log') console.log('shutdown complete')
        process.exit(0)
      })
    })
    `
  )
  return dir
}

function run(command: string, port: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, command, String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** Whether a process of the stand-in in `dir` still runs. */
async function stillRunning(dir: string): Promise<boolean> {
  const pgrep = spawn('pgrep', ['-f', dir])
  const [code] = (await once(pgrep, 'close')) as [number]
  return code === 0
}

describe('.ci/first-command', () => {
  it('when the service answers /healthz and stops cleanly on SIGTERM, passes', async () => {
    const port = await freePort()
    const dir = standIn({ onTerm: 'log' })

    const { code, output } = await run(`cd ${dir} && node dist/main.js ${port}`, port)

    expect(output).toContain(`http://127.0.0.1:${port}/healthz answered {"status":"ok"}`)
    expect(output).toContain('stopped cleanly')
    expect(code).toBe(0)
  })

  it('when the command dies before answering, fails and shows its output', async () => {
    const port = await freePort()
    const dir = standIn({ onTerm: 'log', exitAtOnce: true })

    const { code, output } = await run(`cd ${dir} && node dist/main.js ${port}`, port)

    expect(code).toBe(1)
    expect(output).toContain('exited before answering')
    expect(output).toContain('Error: boom')
  })

  it('when the service exits on SIGTERM without logging a clean shutdown, fails', async () => {
    const port = await freePort()
    const dir = standIn({ onTerm: 'silent' })

    const { code, output } = await run(`cd ${dir} && node dist/main.js ${port}`, port)

    expect(code).toBe(1)
    expect(output).toContain('no clean shutdown in the log')
  })

  it('when the service ignores SIGTERM, fails within the 10 s it allows', async () => {
    const port = await freePort()
    const dir = standIn({ onTerm: 'ignore' })

    const { code, output } = await run(`cd ${dir} && node dist/main.js ${port}`, port)

    expect(code).toBe(1)
    expect(output).toContain('did not stop within 10 s of SIGTERM')
    // Nothing is left behind: the script killed what ignored SIGTERM.
    expect(await stillRunning(dir)).toBe(false)
  }, 30_000)

  it('when the default port is already taken, refuses before running anything', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => taken.once('listening', resolve))
    const { port } = taken.address() as { port: number }
    try {
      const { code, output } = await run('touch /nonexistent/never-run', port)

      expect(code).toBe(1)
      expect(output).toContain(`port ${port} is already taken`)
    } finally {
      taken.close()
    }
  })
})
