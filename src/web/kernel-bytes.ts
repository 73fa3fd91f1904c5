// The bytes of kernels.wasm for the web entry. In Node (the tsc build) they are read next to kernels/wasm.ts; the
// browser bundle replaces this module with the file's bytes inlined (scripts/build.mjs), so a page needs no second
// request and works from a file:// URL.

import { loadKernelBytes } from '../kernels/index.js';

export function kernelBytes(): Promise<Uint8Array> {
  return loadKernelBytes();
}
