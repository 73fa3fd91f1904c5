// Logistic regression: bias + one learned weight per field value (a dim-1 embedding through the same indexer,
// so BH/QR/hash compress it too) + a weight per dense input.

import type { ArchParts } from './ctr-model.js';

export const LR_PARTS: ArchParts = { linear: true, fm: false, deep: false, cross: false };
