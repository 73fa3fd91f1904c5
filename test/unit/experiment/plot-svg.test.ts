// The hand-written SVG: log-axis ticks, one polyline per series placed where the log scale says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linePlotSvg, logTicks, niceTicks } from '../../../src/experiment/plot-svg.js';

test('tick helpers', () => {
  assert.deepEqual(logTicks(0.5, 2000), [1, 10, 100, 1000]);
  assert.deepEqual(logTicks(3, 150), [5, 10, 20, 50, 100]);
  assert.deepEqual(niceTicks(0.7, 0.8, 5), [0.7, 0.72, 0.74, 0.76, 0.78, 0.8]);
});

test('one polyline per series, equal log steps are equal pixel steps', () => {
  const svg = linePlotSvg({
    title: 'AUC <vs> compression',
    xLabel: 'x',
    yLabel: 'auc',
    series: [
      { name: 'bh', points: [{ x: 10, y: 0.78 }, { x: 100, y: 0.77 }, { x: 1000, y: 0.76 }] },
      { name: 'hash', points: [{ x: 10, y: 0.775 }, { x: 1000, y: 0.7 }] },
      { name: 'full', points: [{ x: 1, y: 0.79 }], reference: true },
    ],
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(svg.includes('AUC &lt;vs&gt; compression'));
  const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
  assert.equal(lines.length, 2); // full has one point: a marker, no line
  const [a, b, c] = lines[0];
  assert.ok(Math.abs(b[0] - a[0] - (c[0] - b[0])) < 0.02);
  assert.ok(a[1] < b[1] && b[1] < c[1]); // higher AUC is drawn higher (smaller y)
  for (const name of ['bh', 'hash', 'full']) assert.ok(svg.includes(`data-name="${name}"`));
  // The reference line spans the plot at full's height, above every other point (0.79 is the top AUC).
  const ref = /<line class="reference" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(svg);
  assert.ok(ref);
  assert.equal(ref[2], ref[4]);
  for (const line of lines) for (const [, y] of line) assert.ok(Number(ref[2]) < y);
});
