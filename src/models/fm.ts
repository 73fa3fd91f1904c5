// Factorization machine (Rendle, ICDM 2010): the LR term plus pairwise dot products of the field embeddings.
// With concat fusion every block segment counts as its own FM vector.

import type { ArchParts } from './ctr-model.js';

export const FM_PARTS: ArchParts = { linear: true, fm: true, deep: false, cross: false };
