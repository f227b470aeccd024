export { createAddressPolicy, type AddressPolicy } from './address-policy.ts'
export {
  checkUrl,
  createGuardedAgents,
  guardedLookup,
  resolveAllowed,
  SsrfBlockedError,
  systemResolver,
  type GuardOptions,
  type Resolver,
} from './guarded-agent.ts'
