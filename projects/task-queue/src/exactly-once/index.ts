export {
  createEffectLedger,
  type EffectLedger,
  type EffectLedgerOptions,
  type EffectOutcome,
  type EffectWrite,
} from './effect-ledger.ts'
