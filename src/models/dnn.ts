// DNN: an MLP over the concatenated field embeddings (and dense inputs), ending in one logit.

import type { ArchParts } from './ctr-model.js';

export const DNN_PARTS: ArchParts = { linear: false, fm: false, deep: true, cross: false };
