import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policies, remainingOf, startService, type RunningService } from './helpers.ts'

describe('SHADOW_MODE=true', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({
      SHADOW_MODE: 'true',
      POLICIES: policies({ policies: { default: { limit: 2, windowMs: 60_000 } } }),
    })
  })
  afterAll(() => service.stop())

  it('when over the limit, never blocks but reports r=0 and counts shadow-limited requests', async () => {
    const responses = []
    for (let i = 0; i < 5; i++) responses.push(await fetch(`${service.url}/api/resource`))
    const metrics = await (await fetch(`${service.url}/metrics`)).text()

    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200])
    expect(responses.map(remainingOf)).toEqual([1, 0, 0, 0, 0])
    expect(metrics).toMatch(
      /rate_limit_shadow_limited_total\{policy="default",backend="memory"\} 3/
    )
    expect(metrics).not.toMatch(/rate_limit_limited_total\{policy="default"/)
  })
})
