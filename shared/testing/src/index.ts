export { freePort } from './free-port.ts'
export {
  connectCluster,
  startRedisCluster,
  type ClusterMaster,
  type RedisCluster,
  type RedisClusterNode,
  type StartRedisClusterOptions,
} from './redis-cluster.ts'
export {
  RedisServerError,
  startRedisServer,
  type RedisServer,
  type StartRedisServerOptions,
} from './redis-server.ts'
export { tempSqliteFile } from './sqlite.ts'
export { uniqueName } from './unique-name.ts'
export { onceEvent, waitFor, WaitTimeoutError } from './wait.ts'
export { launchChromium } from './browser.ts'
