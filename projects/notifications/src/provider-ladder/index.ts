export {
  AllProvidersOpenError,
  createProviderLadder,
  isTimeout,
  LadderExhaustedError,
  PermanentError,
  type BreakerState,
  type LadderResult,
  type Provider,
  type ProviderLadder,
  type ProviderLadderOptions,
  type SendOptions,
} from './provider-ladder.ts'
