import { describe, expect, it } from 'vitest'
import {
  PROBLEM_CONTENT_TYPE,
  problemResponse,
  quotaExceeded,
  temporaryReducedCapacity,
} from './problem-details.ts'

describe('quotaExceeded', () => {
  it('when built, matches the draft example body (type, title, status, violated-policies)', () => {
    const problem = quotaExceeded({ violatedPolicies: ['default'] })

    expect(problem).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Too Many Requests',
      status: 429,
      'violated-policies': ['default'],
    })
  })
})

describe('temporaryReducedCapacity', () => {
  it('when built without policies, is a 503 that names none', () => {
    const problem = temporaryReducedCapacity({ detail: 'Shedding non-critical traffic' })

    expect(problem).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      status: 503,
      detail: 'Shedding non-critical traffic',
    })
    expect(problem).not.toHaveProperty('violated-policies')
  })
})

describe('problemResponse', () => {
  it('when sent, carries the status, application/problem+json and the extra headers', async () => {
    const response = problemResponse(quotaExceeded({ violatedPolicies: ['api'] }), {
      'Retry-After': '5',
    })

    expect(response.status).toBe(429)
    expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await response.json()).toMatchObject({ 'violated-policies': ['api'] })
  })
})
