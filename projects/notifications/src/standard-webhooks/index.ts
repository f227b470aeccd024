export {
  generateSecret,
  SECRET_PREFIX,
  secretKey,
  sign,
  TOLERANCE_SECONDS,
  verify,
  webhookHeaders,
  WebhookVerificationError,
  type SignedContent,
} from './signature.ts'
export {
  classifyResponse,
  createRetrySchedule,
  parseRetryAfter,
  RETRY_SCHEDULES,
  STANDARD_WEBHOOKS_SCHEDULE,
  SVIX_SCHEDULE,
  type AttemptOutcome,
  type RetrySchedule,
  type RetryTable,
} from './retry-schedule.ts'
export { sendWebhook, type AttemptResult, type SendWebhookOptions } from './send.ts'
export {
  redisSeenIds,
  webhookReceiver,
  type ReceivedWebhook,
  type RedisLike,
  type SeenIds,
} from './receiver.ts'
