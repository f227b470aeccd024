import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import {
  PROBLEM_CONTENT_TYPE,
  quotaExceeded,
  sendProblem,
  temporaryReducedCapacity,
} from './problem-details.ts'

describe('quotaExceeded', () => {
  it("when built, has the kit's members and the draft's violated-policies", () => {
    const problem = quotaExceeded({ violatedPolicies: ['default'] })

    expect(problem).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Too Many Requests',
      status: 429,
      code: 'quota_exceeded',
      detail: 'Quota exceeded: default',
      'violated-policies': ['default'],
    })
  })
})

describe('temporaryReducedCapacity', () => {
  it('when built without policies, is a 503 that names none', () => {
    const problem = temporaryReducedCapacity({
      code: 'load_shed',
      detail: 'Shedding non-critical traffic',
    })

    expect(problem).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Service Unavailable',
      status: 503,
      code: 'load_shed',
      detail: 'Shedding non-critical traffic',
    })
  })
})

describe('sendProblem', () => {
  it('when sent, carries the status, application/problem+json, its headers and those set before', async () => {
    const app = new Hono()
    app.get('/', (c) => {
      c.header('RateLimit-Policy', '"api";q=1')
      return sendProblem(c, quotaExceeded({ violatedPolicies: ['api'] }), { 'Retry-After': '5' })
    })

    const response = await app.request('/')

    expect(response.status).toBe(429)
    expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(response.headers.get('ratelimit-policy')).toBe('"api";q=1')
    expect(await response.json()).toMatchObject({ 'violated-policies': ['api'] })
  })
})
