import { describe, expect, it } from 'vitest'
import { passCheck, rejectedCheck } from './checks.ts'

const policy = { name: 'bench', limit: 1, windowMs: 60_000 }
const problem = JSON.stringify({
  type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
  title: 'Too Many Requests',
  status: 429,
  'violated-policies': ['bench'],
})

function refusal(headers: Record<string, string>, body = problem): Response {
  return new Response(body, {
    status: 429,
    headers: {
      'content-type': 'application/problem+json',
      'retry-after': '17',
      ratelimit: '"bench";r=0;t=17',
      'ratelimit-policy': '"bench";q=1;w=60',
      ...headers,
    },
  })
}

describe('rejectedCheck', () => {
  it('when the refusal is complete and consistent, passes it', async () => {
    expect(await rejectedCheck(policy)(refusal({}), { path: '/limited' })).toBeNull()
  })

  it.each([
    ['Retry-After missing', refusal({ 'retry-after': '' }), /Retry-After/],
    ['Retry-After zero', refusal({ 'retry-after': '0' }), /Retry-After/],
    ['t not Retry-After', refusal({ ratelimit: '"bench";r=0;t=5' }), /RateLimit/],
    ['r above 0', refusal({ ratelimit: '"bench";r=1;t=17' }), /RateLimit/],
    ['another policy', refusal({ 'ratelimit-policy': '"bench";q=2;w=60' }), /RateLimit-Policy/],
    ['a JSON body', refusal({ 'content-type': 'application/json' }), /content-type/],
    ['no violated policy', refusal({}, '{"status":429}'), /problem body/],
    ['a 200', new Response('ok'), /status 200/],
  ])('when %s, names what is wrong', async (_, response, problemText) => {
    expect(await rejectedCheck(policy)(response, { path: '/limited' })).toMatch(problemText)
  })
})

describe('passCheck', () => {
  const pass = (headers: Record<string, string>) =>
    new Response('ok', {
      headers: {
        ratelimit: '"bench";r=0;t=60',
        'ratelimit-policy': '"bench";q=1;w=60',
        ...headers,
      },
    })

  it('when a limited answer carries the fields, passes it; a bare one needs none', async () => {
    expect(await passCheck(policy)(pass({}), { path: '/limited' })).toBeNull()
    expect(await passCheck(undefined)(new Response('ok'), { path: '/limited' })).toBeNull()
  })

  it('when the RateLimit field is missing or the status is 429, names it', async () => {
    expect(await passCheck(policy)(new Response('ok'), { path: '/limited' })).toMatch(/RateLimit/)
    expect(
      await passCheck(undefined)(new Response('no', { status: 429 }), { path: '/limited' })
    ).toMatch(/status 429/)
  })
})
