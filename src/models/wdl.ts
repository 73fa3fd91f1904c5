// Wide & Deep (Cheng et al., DLRS 2016): the LR term (wide) plus the DNN (deep), summed into one logit.
// The wide part sees the raw field values (no hand-made crosses), as in most CTR benchmarks.

import type { ArchParts } from './ctr-model.js';

export const WDL_PARTS: ArchParts = { linear: true, fm: false, deep: true, cross: false };
