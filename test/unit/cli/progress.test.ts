// Progress output: a redrawn bar on a TTY, throttled plain lines elsewhere, correct rate and ETA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatBytes, formatCount, formatDuration } from '../../../src/cli/progress.js';

function sink(isTTY: boolean): { out: string[]; write(s: string): boolean; isTTY: boolean; columns: number } {
  const out: string[] = [];
  return { out, write: (s: string) => (out.push(s), true), isTTY, columns: 200 };
}

test('formatters', () => {
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(12345), '12.3k');
  assert.equal(formatCount(2_500_000), '2.50M');
  assert.equal(formatDuration(42), '42s');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(3720), '1h02m');
  assert.equal(formatBytes(4 * 1024 * 1024), '4.0 MB');
});

test('plain mode: one line per logEveryMs with rate and ETA', () => {
  let t = 0;
  const s = sink(false);
  const p = new Progress({ label: 'train', total: 1000, stream: s, now: () => t, logEveryMs: 1000 });
  t = 500;
  p.update(100);
  assert.equal(s.out.length, 0);
  t = 1000;
  p.update(200, 'loss 0.5');
  assert.equal(s.out.length, 1);
  // 200 samples in 1 s: 200/s, 800 left: ETA 4s.
  assert.equal(s.out[0], 'train: 20%, 200/1000 samples, 200 samples/s, ETA 4s, loss 0.5\n');
  assert.ok(!s.out[0].includes('\r'));
  p.done('finished');
  assert.equal(s.out.at(-1), 'finished\n');
});

test('tty mode: redraws in place, clears before final message', () => {
  let t = 0;
  const s = sink(true);
  const p = new Progress({ label: 'train', total: 100, stream: s, now: () => t, redrawMs: 100 });
  t = 1000;
  p.update(50);
  t = 1050;
  p.update(60); // throttled
  assert.equal(s.out.length, 1);
  assert.match(s.out[0], /^\r\x1b\[2Ktrain \[#{12}-{12}\]  50% 50\/100 samples 50 samples\/s ETA 1s$/);
  p.done('ok');
  assert.deepEqual(s.out.slice(1), ['\r\x1b[2K', 'ok\n']);
});
