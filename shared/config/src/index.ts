export { ConfigError, exitOnConfigError, type ConfigIssue } from './config-error.ts'
export { parseEnv, type ParseEnvOptions } from './parse-env.ts'
