// DCN-v2 (Wang et al., WWW 2021), stacked form: x0 = [embeddings, dense] → crossLayers full-rank cross layers →
// the MLP → one logit.

import type { ArchParts } from './ctr-model.js';

export const DCNV2_PARTS: ArchParts = { linear: false, fm: false, deep: false, cross: true };
