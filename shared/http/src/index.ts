export { limitBody } from './body-limit.ts'
export {
  errorHandler,
  HttpError,
  notFoundHandler,
  problem,
  problemBody,
  problemResponse,
  PROBLEM_JSON,
  type FieldError,
  type Problem,
  type ProblemOptions,
} from './errors.ts'
export {
  createHealth,
  type Health,
  type HealthCheck,
  type HealthReport,
  type HealthStatus,
} from './health.ts'
export { kitMiddleware, SECURE_HEADERS } from './kit-middleware.ts'
export { createLogger } from './logger.ts'
export { createMetrics } from './metrics.ts'
export { nodeRequest, nodeResponse, requestHeader } from './node-request.ts'
export { serveApp, type ServeAppOptions, type ServedApp } from './serve-app.ts'
export { toFieldErrors, validator } from './validator.ts'
export {
  createOpenApiApp,
  jsonBody,
  jsonResponse,
  problemHook,
  problemResponses,
  ProblemSchema,
  serveApiDocs,
} from './openapi.ts'
