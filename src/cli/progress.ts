// Progress for long CLI work, always on stderr so stdout stays clean for data (predict, generate). On a TTY: one
// redrawn bar with rate and ETA; otherwise (pipes, CI, logs) a plain line every few seconds. Library code never
// prints: commands create a Progress and feed it from the trainer's callbacks.

import type { ProgressEvent } from '../experiment/pipeline.js';

export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Shown before the bar, e.g. 'train epoch 1/3'. */
  label: string;
  /** Units of work in all; unknown totals show a count and rate but no bar or ETA. */
  total?: number;
  /** @default 'samples' */
  unit?: string;
  /** @default process.stderr */
  stream?: ProgressStream;
  /** Force TTY or plain mode. @default stream.isTTY */
  tty?: boolean;
  /** Minimum milliseconds between TTY redraws. @default 100 */
  redrawMs?: number;
  /** Milliseconds between plain log lines. @default 5000 */
  logEveryMs?: number;
  /** Clock, for tests. @default performance.now */
  now?: () => number;
}

/** 1234567 → '1.23M', 5300 → '5.3k'. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  return String(Math.round(n));
}

/** Seconds → '42s', '3m05s', '1h02m'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 1536 → '1.5 KB' (binary units, as --memory-budget reads them). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/**
 * A progress bar (TTY) or periodic log lines (otherwise).
 * @example
 * const p = new Progress({ label: 'train epoch 1/2', total: 1e5 });
 * p.update(5000, 'loss 0.452');
 * p.done('epoch 1: valid auc 0.7712');
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly logEveryMs: number;
  private label: string;
  private total: number | undefined;
  private start: number;
  private lastDraw: number;
  private lastLog: number;
  private drawn = false;
  private count = 0;

  constructor(opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.unit = opts.unit ?? 'samples';
    this.now = opts.now ?? (() => performance.now());
    this.redrawMs = opts.redrawMs ?? 100;
    this.logEveryMs = opts.logEveryMs ?? 5000;
    this.label = opts.label;
    this.total = opts.total;
    this.start = this.now();
    this.lastLog = this.start;
    // The first draw waits one redraw interval, so the rate shown is never measured over a few microseconds.
    this.lastDraw = this.start;
  }

  /** Start a new phase (e.g. the next epoch) with its own clock. */
  reset(label: string, total?: number): void {
    this.clear();
    this.label = label;
    this.total = total;
    this.start = this.now();
    this.lastLog = this.start;
    this.lastDraw = this.start;
    this.count = 0;
  }

  /** Report `done` units finished so far in this phase. Cheap to call often: output is throttled. */
  update(done: number, extra = ''): void {
    this.count = done;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw < this.redrawMs) return;
      this.lastDraw = t;
      this.draw(this.line(done, t, extra, true));
    } else if (t - this.lastLog >= this.logEveryMs) {
      this.lastLog = t;
      this.stream.write(`${this.line(done, t, extra, false)}\n`);
    }
  }

  /** Rate in units per second since the phase started. */
  rate(): number {
    const secs = (this.now() - this.start) / 1000;
    return secs > 0 ? this.count / secs : 0;
  }

  /** End the phase: clears the bar and prints `message` (if any) as a normal line. */
  done(message?: string): void {
    this.clear();
    if (message !== undefined) this.stream.write(`${message}\n`);
  }

  /** Print a line without breaking the bar (it is redrawn on the next update). */
  log(message: string): void {
    this.clear();
    this.stream.write(`${message}\n`);
  }

  private clear(): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  private draw(s: string): void {
    const cols = this.columns();
    this.stream.write(`\r\x1b[2K${s.length > cols - 1 ? s.slice(0, cols - 1) : s}`);
    this.drawn = true;
  }

  /** Terminal width; some pseudo-terminals report 0, which means unknown. */
  private columns(): number {
    const c = this.stream.columns;
    return c !== undefined && c > 0 ? c : 100;
  }

  private line(done: number, t: number, extra: string, bar: boolean): string {
    const secs = (t - this.start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts: string[] = [this.label];
    const total = this.total;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, done / total);
      const rest = [
        `${(frac * 100).toFixed(0).padStart(bar ? 3 : 0)}%`,
        `${formatCount(done)}/${formatCount(total)} ${this.unit}`,
        `${formatCount(rate)} ${this.unit}/s`,
        `ETA ${rate > 0 ? formatDuration((total - done) / rate) : '?'}`,
      ];
      if (bar) {
        // The bar takes what the terminal has left after the text (up to 24 cells; none when under 8), so the
        // numbers are never cut off.
        const text = [this.label, ...rest, extra].filter((x) => x !== '').join(' ').length;
        const width = Math.min(24, this.columns() - 1 - text - 3);
        if (width >= 8) {
          const full = Math.round(frac * width);
          parts.push(`[${'#'.repeat(full)}${'-'.repeat(width - full)}]`);
        }
      }
      parts.push(...rest);
    } else {
      parts.push(`${formatCount(done)} ${this.unit}`, `${formatCount(rate)} ${this.unit}/s`, `${formatDuration(secs)}`);
    }
    if (extra) parts.push(extra);
    return bar ? parts.join(' ') : parts.join(bar ? ' ' : ', ').replace(`${this.label}, `, `${this.label}: `);
  }
}

/** Turns a training pipeline's progress events into a bar (TTY) or log lines on stderr. */
export function pipelineReporter(opts: { quiet?: boolean; stream?: ProgressStream; label?: string } = {}): {
  onProgress: (e: ProgressEvent) => void;
  done: () => void;
} {
  const stream = opts.stream ?? process.stderr;
  const prefix = opts.label ? `${opts.label} ` : '';
  let bar: Progress | null = null;
  let barEpoch = -1;
  const write = (s: string): void => {
    if (opts.quiet) return;
    if (bar) bar.log(s);
    else stream.write(`${s}\n`);
  };
  return {
    onProgress(e: ProgressEvent): void {
      if (opts.quiet) return;
      if (e.type === 'phase') {
        if (e.phase !== 'train') write(`${prefix}${e.message}`);
        return;
      }
      if (e.type === 'step') {
        if (bar === null || barEpoch !== e.epoch) {
          const label = `${prefix}epoch ${e.epoch + 1}/${e.epochs}`;
          if (bar === null) bar = new Progress({ label, total: e.total, stream });
          else bar.reset(label, e.total);
          barEpoch = e.epoch;
        }
        bar.update(e.done);
        return;
      }
      const parts = [`${prefix}epoch ${e.epoch + 1}/${e.epochs}`];
      if (e.trainLoss !== undefined && Number.isFinite(e.trainLoss)) parts.push(`train loss ${e.trainLoss.toFixed(4)}`);
      if (e.auc !== undefined) parts.push(`valid AUC ${e.auc.toFixed(4)} logloss ${(e.logloss ?? NaN).toFixed(4)}`);
      if (e.auc === undefined && bar) parts.push(`${formatCount(bar.rate())} samples/s`);
      parts.push(`${formatDuration(e.seconds)} elapsed`);
      if (bar) bar.done(parts.join(', '));
      else stream.write(`${parts.join(', ')}\n`);
    },
    done(): void {
      bar?.done();
    },
  };
}
