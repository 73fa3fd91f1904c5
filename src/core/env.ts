// Environment flags, read in one place. BHEMBED_DEBUG=1 adds stacks and timings to CLI errors.
export const ENV_FLAGS = {
  /** Print stacks and timings on errors. */
  BHEMBED_DEBUG: (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.BHEMBED_DEBUG === '1',
  /** Force the dense GEMM provider: 'ort' | 'wasm' | 'auto'. */
  BHEMBED_ENGINE: (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.BHEMBED_ENGINE ?? 'auto',
} as const;
