import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLogger, serveApp } from '@kit/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, createLink } from './helpers.ts'
import type { TestApp } from './helpers.ts'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'url-shortener-git-'))
/** git with no user or system configuration, so the machine's settings cannot change a run. */
const gitEnv = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
}
const git = (args: string[], cwd = dir) => run('git', args, { cwd, env: gitEnv })

/**
 * git's own smart-HTTP server (`git http-backend`, CGI) behind node:http, serving the bare
 * repositories under `root`: what a git host answers to `clone`.
 */
function gitHttpServer(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://git.example')
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...gitEnv,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
    })
    req.pipe(cgi.stdin)
    const chunks: Buffer[] = []
    cgi.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    cgi.on('close', () => {
      const output = Buffer.concat(chunks)
      const end = output.indexOf('\r\n\r\n')
      const headers = output.subarray(0, end).toString().split('\r\n')
      let status = 200
      for (const line of headers) {
        const [name, ...rest] = line.split(':')
        const value = rest.join(':').trim()
        if (name?.toLowerCase() === 'status') status = Number.parseInt(value, 10)
        else if (name) res.setHeader(name, value)
      }
      res.writeHead(status)
      res.end(output.subarray(end + 4))
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

describe('GET /:code/* for git clone (smart HTTP)', () => {
  let instance: TestApp
  let shortener: Awaited<ReturnType<typeof serveApp>>
  let gitServer: Server
  let gitPort: number

  beforeAll(async () => {
    // A repository with one commit, published bare as repo.git.
    await git(['init', '-q', '-b', 'main', 'work'])
    writeFileSync(join(dir, 'work', 'README.md'), 'cloned through a short link\n')
    await git(['add', 'README.md'], join(dir, 'work'))
    await git(['commit', '-q', '-m', 'first'], join(dir, 'work'))
    await git(['clone', '-q', '--bare', 'work', join('served', 'repo.git')])
    gitServer = await gitHttpServer(join(dir, 'served'))
    gitPort = (gitServer.address() as AddressInfo).port
    instance = buildTestApp()
    shortener = await serveApp(instance.app, {
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
      handleSignals: false,
    })
  })
  afterAll(async () => {
    await shortener?.shutdown('test done')
    await instance?.close()
    gitServer?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /**
   * `git clone <short link>`: git asks GET <link>/info/refs?service=git-upload-pack, follows
   * the redirect, then talks to the repository's URL. The repository's host is named
   * git.example (a loopback target would be refused) and pinned to 127.0.0.1 for git's curl.
   */
  function clone(code: string, into: string) {
    return git([
      '-c',
      `http.curloptResolve=git.example:${gitPort}:127.0.0.1`,
      'clone',
      '-q',
      `${shortener.url}/${code}`,
      into,
    ])
  }

  it('when a link forwards its path and query, git clones the repository through it', async () => {
    const { code } = await createLink(instance.app, {
      url: `http://git.example:${gitPort}/repo.git`,
      forwardPath: true,
    })

    await clone(code, 'through-link')
    const discovery = await fetch(`${shortener.url}/${code}/info/refs?service=git-upload-pack`, {
      redirect: 'manual',
    })

    expect(readFileSync(join(dir, 'through-link', 'README.md'), 'utf8')).toBe(
      'cloned through a short link\n'
    )
    expect(discovery.status).toBe(302)
    expect(discovery.headers.get('location')).toBe(
      `http://git.example:${gitPort}/repo.git/info/refs?service=git-upload-pack`
    )
  })

  it('when a link does not forward its path, the path below the code is a 404 and git cannot clone', async () => {
    const { code } = await createLink(instance.app, {
      url: `http://git.example:${gitPort}/repo.git`,
    })

    const discovery = await fetch(`${shortener.url}/${code}/info/refs?service=git-upload-pack`, {
      redirect: 'manual',
    })
    const cloned = await clone(code, 'without-forwarding').then(
      () => true,
      () => false
    )

    expect(discovery.status).toBe(404)
    expect(cloned).toBe(false)
  })
})
