import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { OpenAPIHono, z, type Hook } from '@hono/zod-openapi'
import type { Env } from 'hono'
import { problem, PROBLEM_JSON } from './errors.ts'
import { toFieldErrors } from './validator.ts'

const targetNames: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'headers',
  cookie: 'cookies',
}

/**
 * The `defaultHook` of every OpenAPIHono in the kit: a failed parse answers the same 400
 * `validation_failed` problem as `validator()`, naming every field.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a hook for any app's routes
export const problemHook: Hook<any, any, any, Response | undefined> = (result, c) => {
  if (result.success) return undefined
  return problem(
    c,
    400,
    'validation_failed',
    `Invalid request ${targetNames[result.target] ?? result.target}`,
    { errors: toFieldErrors(result.error) }
  )
}

/**
 * A Hono app whose routes are declared with their zod schemas (`createRoute`), so the schemas
 * that validate a request are also the API's description. Failed validation answers the kit's
 * problem details.
 *
 * @example
 * ```ts
 * const app = createOpenApiApp()
 * app.openapi(createRoute({ method: 'post', path: '/links', request: { body: jsonBody(schema) },
 *   responses: { 201: jsonResponse(LinkView, 'Created'), ...problemResponses(400, 409) } }),
 *   (c) => c.json(create(c.req.valid('json')), 201))
 * ```
 */
export function createOpenApiApp<E extends Env = Env>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({ defaultHook: problemHook })
}

/** The Problem body as an OpenAPI component (RFC 9457 plus the kit's `code` and `errors`). */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'about:blank' }),
    title: z.string().openapi({ example: 'Bad Request' }),
    status: z.number().int().openapi({ example: 400 }),
    code: z.string().openapi({ example: 'validation_failed' }),
    detail: z.string().openapi({ example: 'Invalid request body' }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ example: [{ path: 'url', message: 'Invalid URL' }] }),
  })
  .catchall(z.unknown())
  .openapi('Problem')

const problemDescriptions: Record<number, string> = {
  400: 'Invalid input; `errors` names each field',
  401: 'Missing or wrong credentials',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Well-formed but not processable',
  429: 'Too many requests; see Retry-After',
  503: 'A dependency is unavailable; see Retry-After',
}

/**
 * The error responses of a route, each a Problem in `application/problem+json`.
 *
 * @example
 * ```ts
 * responses: { 200: jsonResponse(Link, 'The link'), ...problemResponses(400, 404) }
 * ```
 */
export function problemResponses<const S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: problemDescriptions[status] ?? 'Error',
        content: { [PROBLEM_JSON]: { schema: ProblemSchema } },
      },
    ])
  ) as Record<
    S,
    { description: string; content: { [PROBLEM_JSON]: { schema: typeof ProblemSchema } } }
  >
}

/**
 * A JSON response entry for `createRoute({ responses })`.
 *
 * @example
 * ```ts
 * responses: { 201: jsonResponse(LinkView, 'The new link') }
 * ```
 */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } }
}

/**
 * A JSON request body entry for `createRoute({ request: { body } })`.
 *
 * @example
 * ```ts
 * request: { body: jsonBody(CreateLink) }
 * ```
 */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    ...(description !== undefined && { description }),
    content: { 'application/json': { schema } },
  }
}

// The folder of swagger-ui-dist's assets. Resolved through its package.json: requiring the
// package itself would load (and evaluate) the whole Swagger UI bundle into the server.
const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
}

function docsPage(title: string, specPath: string, assetsPath: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${assetsPath}/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="${assetsPath}/swagger-ui-bundle.js"></script>
<script src="${assetsPath}/init.js"></script>
</body>
</html>
`
}

/**
 * Serves the app's OpenAPI 3.1 document at `/openapi.json` and a reference page at `/docs`,
 * rendered by Swagger UI from assets served by the app itself (nothing is fetched from a CDN, so
 * the page works offline and under a strict Content-Security-Policy).
 *
 * @example
 * ```ts
 * serveApiDocs(app, { title: 'URL shortener', version: '1.0.0' })
 * ```
 */
export function serveApiDocs<E extends Env>(
  app: OpenAPIHono<E>,
  {
    title,
    version,
    description,
    specPath = '/openapi.json',
    docsPath = '/docs',
  }: { title: string; version: string; description?: string; specPath?: string; docsPath?: string }
): void {
  app.doc31(specPath, {
    openapi: '3.1.0',
    info: { title, version, ...(description !== undefined && { description }) },
  })
  const assetsPath = `${docsPath}/assets`
  const page = docsPage(title, specPath, assetsPath)
  const init = `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specPath)}, dom_id: '#docs' })\n`
  app.get(docsPath, (c) => c.html(page))
  app.get(`${assetsPath}/init.js`, (c) =>
    c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' })
  )
  app.get(`${assetsPath}/:file`, async (c) => {
    const file = c.req.param('file')
    const type = SWAGGER_ASSETS[file]
    if (type === undefined) return c.notFound()
    return c.body(await readFile(join(swaggerUiDir, file)), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    })
  })
}
