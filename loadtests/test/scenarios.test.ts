import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { LoadScenario, WsScenarioData } from '../scenarios/types.d.ts'

/** What every project's scenario shares; project-specific fields are checked per project below. */
type CommonScenario = Omit<LoadScenario, 'request' | 'clickTracking'> & {
  request: { expectStatus: number | number[] }
}

const scenariosDir = fileURLToPath(new URL('../scenarios/', import.meta.url))
const files = readdirSync(scenariosDir).filter((file) => file.endsWith('.js'))
/** WebSocket scenario files declare it (`export const transport = 'websocket'`); the rest are HTTP. */
const isWebSocket = (file: string) =>
  /^export const transport = 'websocket'$/m.test(readFileSync(join(scenariosDir, file), 'utf8'))
const httpFiles = files.filter((file) => !isWebSocket(file))
const wsFiles = files.filter(isWebSocket)

/** Imports a scenario file as Node does (k6 is not involved). */
async function load(
  file: string
): Promise<{ project: string; scenarios: Record<string, CommonScenario> }> {
  return (await import(/* @vite-ignore */ pathToFileURL(join(scenariosDir, file)).href)) as {
    project: string
    scenarios: Record<string, CommonScenario>
  }
}

function thresholdExpressions(list: CommonScenario['thresholds'][string] | undefined): string[] {
  return (list ?? []).map((t) => (typeof t === 'string' ? t : t.threshold))
}

describe('scenarios/*.js', () => {
  it('when listed, includes every project with a load test', () => {
    expect(files).toEqual(
      expect.arrayContaining(['url-shortener.js', 'rate-limiter.js', 'chat.js'])
    )
    expect(wsFiles).toEqual(['chat.js'])
  })

  describe.each(httpFiles)('%s', (file) => {
    it('when imported in Node, exports its project and at least one scenario', async () => {
      const mod = await load(file)

      expect(mod.project).toBe(file.replace(/\.js$/, ''))
      expect(Object.keys(mod.scenarios).length).toBeGreaterThan(0)
    })

    it('every scenario has open-model k6 parameters, Node driver parameters and thresholds', async () => {
      const { scenarios } = await load(file)

      for (const [name, scenario] of Object.entries(scenarios)) {
        expect(name, 'k6 scenario names and result file names').toMatch(/^[a-z0-9][a-z0-9-]*$/)
        expect(scenario.description.length, name).toBeGreaterThan(10)
        expect(['constant-arrival-rate', 'ramping-arrival-rate'], name).toContain(
          scenario.k6.executor
        )
        expect(scenario.k6.timeUnit, name).toMatch(/^\d+(ms|s|m)$/)
        expect(scenario.k6.preAllocatedVUs, name).toBeGreaterThan(0)
        expect(scenario.k6.maxVUs, name).toBeGreaterThanOrEqual(scenario.k6.preAllocatedVUs)
        if (scenario.k6.executor === 'constant-arrival-rate') {
          expect(scenario.k6.rate, name).toBeGreaterThan(0)
          expect(scenario.k6.duration, name).toMatch(/^(\d+(ms|s|m|h))+$/)
        } else {
          expect(scenario.k6.stages.length, name).toBeGreaterThan(0)
        }
        expect(scenario.node.connections, name).toBeGreaterThan(0)
        expect(scenario.node.durationSeconds, name).toBeGreaterThan(0)
        expect(scenario.node.pipelining, name).toBeGreaterThanOrEqual(1)
        const failed = scenario.thresholds.http_req_failed
        expect(thresholdExpressions(failed), name).toContain('rate<0.01')
        expect(
          failed?.some((t) => typeof t === 'object' && t.abortOnFail),
          name
        ).toBe(true)
        const duration = thresholdExpressions(scenario.thresholds.http_req_duration)
        expect(
          duration.some((t) => t.startsWith('p(95)<')),
          name
        ).toBe(true)
        expect(
          duration.some((t) => t.startsWith('p(99)<')),
          name
        ).toBe(true)
        // A status or a list of statuses (a bursty run expects both 200 and 429).
        const expected = [scenario.request.expectStatus].flat()
        expect(expected.length, name).toBeGreaterThan(0)
        for (const status of expected) {
          expect(Number.isInteger(status) && status >= 200 && status < 600, name).toBe(true)
        }
      }
    })
  })
})

describe('scenarios/url-shortener.js', () => {
  it('when read, redirect and redirect-tracked send the same Zipf request and only tracking differs', async () => {
    const { scenarios, links, browserUserAgent } = await import('../scenarios/url-shortener.js')

    const { redirect, 'redirect-tracked': tracked, create } = scenarios

    expect(redirect?.request).toEqual(tracked?.request)
    expect(redirect?.request).toMatchObject({
      method: 'GET',
      path: '/:code',
      expectStatus: 302,
      popularity: { distribution: 'zipf', links: 1000, s: 1.1 },
      headers: { 'User-Agent': browserUserAgent },
    })
    expect([redirect?.clickTracking, tracked?.clickTracking]).toEqual([false, true])
    expect(links.count).toBe(1000)
    expect(browserUserAgent).toMatch(/^Mozilla\/5\.0 .*Chrome\/\d+/)
    expect(browserUserAgent).not.toMatch(/bot|crawl|spider|headless/i)
    expect(create?.request).toMatchObject({ method: 'POST', path: '/api/links', expectStatus: 201 })
    expect(create?.request.kind === 'create' && create.request.body.url).toMatch(
      /^https:\/\/.*\{unique\}/
    )
  })
})

describe.each(wsFiles)('scenarios/%s (WebSocket)', (file) => {
  it('every scenario has the shape both drivers read, and thresholds that abort a broken run', async () => {
    const mod = (await import(/* @vite-ignore */ pathToFileURL(join(scenariosDir, file)).href)) as {
      project: string
      scenarios: Record<string, WsScenarioData>
    }

    expect(mod.project).toBe(file.replace(/\.js$/, ''))
    for (const [name, scenario] of Object.entries(mod.scenarios)) {
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]*$/)
      expect(scenario.description.length, name).toBeGreaterThan(10)
      expect(scenario.clients, name).toBeGreaterThan(0)
      expect(scenario.users, name).toBeGreaterThan(0)
      expect(scenario.users, name).toBeLessThanOrEqual(scenario.clients)
      expect([1, 2], name).toContain(scenario.instances)
      expect(scenario.durationSeconds, name).toBeGreaterThan(0)
      expect(scenario.k6.duration, name).toMatch(/^(\d+(ms|s|m|h))+$/)
      if (scenario.kind === 'fanout') {
        expect(scenario.senders, name).toBeGreaterThan(0)
        expect(scenario.senders, name).toBeLessThanOrEqual(scenario.clients)
        expect(scenario.load, name).not.toBeNull()
        expect(
          thresholdExpressions(scenario.thresholds.chat_delivery_ms).some((t) =>
            t.startsWith('p(99)<')
          ),
          name
        ).toBe(true)
        expect(
          scenario.thresholds.chat_connect_failed?.some(
            (t) => typeof t === 'object' && t.abortOnFail
          ),
          name
        ).toBe(true)
      } else {
        expect(scenario.load, name).toBeNull()
        expect(
          thresholdExpressions(scenario.thresholds.ws_connecting).some((t) =>
            t.startsWith('p(99)<')
          ),
          name
        ).toBe(true)
      }
    }
  })
})
