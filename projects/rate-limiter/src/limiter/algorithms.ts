import type { AlgorithmModule, AlgorithmState } from './algorithm.ts'
import { fixedWindow } from './fixed-window.ts'
import { gcra } from './gcra.ts'
import { slidingLog } from './sliding-log.ts'
import { slidingWindow } from './sliding-window.ts'
import { tokenBucket } from './token-bucket.ts'
import type { Algorithm } from './types.ts'

/** The decision functions of every algorithm, by name. */
export const ALGORITHM_MODULES: Record<Algorithm, AlgorithmModule<AlgorithmState>> = {
  'fixed-window': fixedWindow,
  'sliding-log': slidingLog,
  'sliding-window': slidingWindow,
  'token-bucket': tokenBucket,
  gcra: gcra,
}
