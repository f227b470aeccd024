import { zValidator } from '@hono/zod-validator'
import type { $ZodError, $ZodType } from 'zod/v4/core'
import { problem, type FieldError } from './errors.ts'

type Target = 'json' | 'query' | 'param' | 'header' | 'form'

const targetNames: Record<Target, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'headers',
}

/**
 * zod issues as the kit's FieldError[]: the path joined with '.' ('' for the root). An
 * unrecognized-keys issue (strict objects) becomes one issue per unknown key, so the body
 * names each field the client should not have sent.
 */
export function toFieldErrors(error: $ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map((key) =>
      typeof key === 'symbol' ? (key.description ?? '') : String(key)
    )
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...path, key].join('.'),
        message: 'Unknown field',
      }))
    }
    return [{ path: path.join('.'), message: issue.message }]
  })
}

/**
 * @hono/zod-validator wrapped once for the kit (its README's "validator wrapper"): a failed
 * parse answers 400 `validation_failed` naming every field; malformed JSON answers 400
 * `malformed_json` (through `errorHandler`). Typed like zValidator: `c.req.valid(target)`.
 *
 * @example
 * ```ts
 * app.post('/links', validator('json', z.object({ url: z.url() })), (c) => {
 *   const { url } = c.req.valid('json')
 *   …
 * })
 * ```
 */
export function validator<T extends $ZodType, Tgt extends Target>(target: Tgt, schema: T) {
  return zValidator(target, schema, function kitValidationHook(result, c) {
    if (!result.success) {
      return problem(c, 400, 'validation_failed', `Invalid request ${targetNames[target]}`, {
        errors: toFieldErrors(result.error),
      })
    }
  })
}
