// The settings of one training run, under the names `lmfn train` takes them by (--lr-step, …):
// those names are also the keys of a checkpoint's `config` metadata, so that a run started by an
// older version still resumes.

import type { LMFNInit } from '../../model/identity.ts';

export interface TrainOptions {
  data: string;
  init: LMFNInit;
  /** Total optimizer steps; a resumed run continues up to this. */
  steps: number;
  batch: number;
  crop: number;
  lr: number;
  'lr-step': number;
  'lr-gamma': number;
  warmup: number;
  'weight-decay': number;
  seed: number;
  'val-every': number;
  'log-every': number;
  /** Undefined when the flag was not given, as parseFlags leaves a boolean without a default. */
  flips?: boolean;
}

/** The settings a resumed run must share with the original for an exact continuation. */
export const FIXED_OPTIONS = ['data', 'init', 'batch', 'crop', 'lr', 'lr-step', 'lr-gamma', 'warmup', 'weight-decay', 'seed', 'flips'] as const;
