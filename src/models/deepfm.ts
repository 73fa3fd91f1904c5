// DeepFM (Guo et al., IJCAI 2017): LR term + FM term + DNN, all on the same shared embeddings.

import type { ArchParts } from './ctr-model.js';

export const DEEPFM_PARTS: ArchParts = { linear: true, fm: true, deep: true, cross: false };
