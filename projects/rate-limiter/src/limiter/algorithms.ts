import type { AlgorithmModule, AlgorithmState } from './algorithm.ts'
import { fixedWindow } from './fixed-window.ts'
import { gcra } from './gcra.ts'
import { slidingLog } from './sliding-log.ts'
import { slidingWindow } from './sliding-window.ts'
import { tokenBucket } from './token-bucket.ts'
import type { Algorithm } from './types.ts'

/** The decision functions of every algorithm, by name. */
export const ALGORITHM_MODULES: Record<Algorithm, AlgorithmModule<AlgorithmState>> = {
  'fixed-window': fixedWindow as AlgorithmModule<AlgorithmState>,
  'sliding-log': slidingLog as AlgorithmModule<AlgorithmState>,
  'sliding-window': slidingWindow as AlgorithmModule<AlgorithmState>,
  'token-bucket': tokenBucket as AlgorithmModule<AlgorithmState>,
  gcra: gcra as AlgorithmModule<AlgorithmState>,
}
