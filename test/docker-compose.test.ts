import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// No Docker engine runs where the kit is tested, so the compose file is checked for what can
// be checked without one: it parses, Redis is configured as production needs, and every path,
// build argument and environment variable it names exists in the repository.

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(join(root, path), 'utf8')

type Service = {
  image?: string
  command?: string[]
  profiles?: string[]
  build?: { context: string; dockerfile: string; args?: Record<string, string> }
  environment?: Record<string, string>
  volumes?: string[]
  depends_on?: Record<string, unknown> | string[]
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}
const projectServices = Object.entries(compose.services).filter(([, service]) => service.build)

describe('docker-compose.yml', () => {
  it('when parsed, configures Redis for queues and durability (noeviction, AOF everysec)', () => {
    const redis = compose.services['redis']

    expect(redis?.image).toMatch(/^redis:\d+\.\d+/)
    const command = redis?.command?.join(' ') ?? ''
    expect(command).toContain('--maxmemory-policy noeviction')
    expect(command).toContain('--appendonly yes')
    expect(command).toContain('--appendfsync everysec')
  })

  it('when a service builds a project, its Dockerfile and project exist and the project can be built and deployed', () => {
    expect(projectServices.length).toBeGreaterThan(0)

    for (const [name, service] of projectServices) {
      const build = service.build!
      const project = build.args?.['PROJECT']
      expect(existsSync(join(root, build.context, build.dockerfile)), name).toBe(true)
      expect(project, `${name} passes PROJECT`).toBeTruthy()
      const manifest = JSON.parse(read(`projects/${project}/package.json`)) as {
        name: string
        scripts: Record<string, string>
        files?: string[]
      }
      expect(manifest.name).toBe(`@kit/${project}`)
      expect(manifest.scripts['build'], `${project} has a build script`).toBeTruthy()
      expect(manifest.files, `${project} ships dist/ through "files" (pnpm deploy)`).toContain(
        'dist'
      )
    }
  })

  it('when a service sets environment variables, each one is read by the project config', () => {
    for (const [name, service] of projectServices) {
      const config = read(`projects/${service.build!.args!['PROJECT']}/src/config.ts`)

      for (const key of Object.keys(service.environment ?? {})) {
        expect(config, `${name}: ${key} is not in src/config.ts`).toMatch(
          new RegExp(`\\b${key}\\b`)
        )
      }
    }
  })

  it('when a service mounts a file or a named volume, the file exists or the volume is declared', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        if (source.startsWith('.')) {
          expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true)
        } else {
          expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source)
        }
      }
    }
  })

  it('when a service depends on another, that service exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const deps = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {})
      for (const dep of deps) expect(compose.services, `${name} → ${dep}`).toHaveProperty(dep)
    }
  })
})

describe("docker-compose.yml: the shortener's scale profile", () => {
  const nginx = read('loadtests/nginx/url-shortener.conf')
  const upstream = [...nginx.matchAll(/^\s*server\s+([\w-]+):(\d+);/gm)].map(([, host]) => host!)
  const instances = upstream.map((name) => [name, compose.services[name]] as const)
  const balancer = compose.services['load-balancer']
  const env = (service: Service | undefined, key: string) => service?.environment?.[key]

  it('when nginx balances over the instances, each is a url-shortener service of the profile', () => {
    expect(upstream.length).toBeGreaterThanOrEqual(2)

    for (const [name, service] of instances) {
      expect(service, name).toBeDefined()
      expect(service?.build?.args?.['PROJECT'], name).toBe('url-shortener')
      expect(service?.profiles, name).toContain('scale')
      expect(balancer?.depends_on, name).toContain(name)
    }
  })

  it('when a client talks to the balancer, every instance prints the same public origin, the one nginx publishes', () => {
    const published = (balancer as { ports?: string[] }).ports?.map((port) => port.split(':')[0])
    const origins = new Set(instances.map(([, service]) => env(service, 'PUBLIC_BASE_URL')))

    expect(origins.size).toBe(1)
    const [origin] = [...origins]
    expect(published).toContain(new URL(origin!).port)
  })

  it('when a management call lands on either instance, the same key is accepted: one API_KEY and one key file', () => {
    const keys = new Set(instances.map(([, service]) => env(service, 'API_KEY')))
    const databases = new Set(instances.map(([, service]) => env(service, 'DB_FILE')))
    const volumes = new Set(instances.map(([, service]) => service?.volumes?.join(',')))
    const workers = new Set(instances.map(([, service]) => env(service, 'WORKER_ID')))

    expect(keys.size).toBe(1)
    expect([...keys][0]).toMatch(/\$\{URL_SHORTENER_API_KEY/)
    // Without URL_SHORTENER_API_KEY the key is generated beside DB_FILE: one file for both.
    expect(databases.size).toBe(1)
    expect(volumes.size).toBe(1)
    expect(workers.size).toBe(instances.length)
  })
})
