// Errors with stable codes. Library code throws these; only cli/ prints them (one line, no stack).
// Errors that cross worker_threads travel as plain objects (toPlain / fromPlain) and are rebuilt here.

export type ErrorCode =
  | 'config.invalid'
  | 'data.parse'
  | 'data.io'
  | 'checkpoint.corrupt'
  | 'checkpoint.version'
  | 'kernel.failed'
  | 'usage'
  | 'internal';

export class BhembedError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'BhembedError';
    this.code = code;
    this.details = details;
  }
}

/** A configuration value is out of range or of the wrong kind. The message names the key and the allowed values. */
export class ConfigError extends BhembedError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('config.invalid', message, details);
    this.name = 'ConfigError';
  }
}

/** Bad input data. The message starts with `file:line: ` when both are known. */
export class DataError extends BhembedError {
  constructor(message: string, details: { file?: string; line?: number; reason?: string } & Record<string, unknown> = {}) {
    super(details.reason !== undefined && message === '' ? 'data.parse' : 'data.parse', message, details);
    this.name = 'DataError';
  }
}

/** The file system refused (missing file, a directory where a file was expected, permissions). */
export class IoError extends BhembedError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('data.io', message, details);
    this.name = 'IoError';
  }
}

/** A model file is truncated, corrupt, or of an unknown version. */
export class CheckpointError extends BhembedError {
  constructor(code: 'checkpoint.corrupt' | 'checkpoint.version', message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'CheckpointError';
  }
}

/** Wrong command-line usage (exit code 2). */
export class UsageError extends BhembedError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('usage', message, details);
    this.name = 'UsageError';
  }
}

/** Guard that works across realms (worker_threads): checks name/code, not only instanceof. */
export function isBhembedError(e: unknown): e is BhembedError {
  if (e instanceof BhembedError) return true;
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { code?: unknown; message?: unknown };
  return typeof o.code === 'string' && typeof o.message === 'string' && /^(config|data|checkpoint|kernel|usage|internal)(\.|$)/.test(o.code);
}

export interface PlainError {
  name: string;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
  stack?: string;
}

export function toPlain(e: unknown): PlainError {
  if (isBhembedError(e)) return { name: e.name, code: e.code, message: e.message, details: e.details ?? {}, stack: e.stack };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, code: 'internal', message: err.message, details: {}, stack: err.stack };
}

export function fromPlain(p: PlainError): BhembedError {
  const e = new BhembedError(p.code, p.message, p.details);
  e.name = p.name;
  if (p.stack) e.stack = p.stack;
  return e;
}

/** `file:line: reason`, the one format every reader uses. */
export function dataError(file: string, line: number, reason: string): DataError {
  return new DataError(`${file}:${line}: ${reason}`, { file, line, reason });
}
