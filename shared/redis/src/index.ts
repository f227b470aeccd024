export {
  createRedis,
  reconnectDelay,
  type CreateRedisOptions,
  type RedisLogger,
  type RedisRole,
} from './create-redis.ts'
export { isRedisReady, pingRedis, RedisNotReadyError, waitForRedis } from './readiness.ts'
