// What an interrupted run says it kept (core/cleanup.ts keptDescriptions, printed by cli/interrupt.ts): files that
// still exist, not the checkpoints rotated out since (a run keeps the last 2), and a folder of many published
// versions as one entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keptDescriptions } from '../../../src/core/cleanup.js';
import { loadRunData, trainModel } from '../../../src/experiment/pipeline.js';
import { criteoLines, tempDir } from '../../e2e/cli-helpers.js';

test('the kept files of a run that checkpoints and publishes: the 2 checkpoints left, the versions as one entry', async () => {
  const dir = tempDir('bhembed-kept-');
  const train = join(dir, 'train.tsv');
  writeFileSync(train, `${criteoLines(640, 4).join('\n')}\n`);
  const data = await loadRunData({ format: 'criteo', train });
  const ck = join(dir, 'ck');
  const pub = join(dir, 'pub');
  await trainModel(data, { arch: 'lr', method: 'hash', compression: 2, batchSize: 64, epochs: 1 }, { checkpoint: { dir: ck, everyRows: 128, runId: 'kept' }, publish: { dir: pub, everyRows: 128 } });
  const [line, ...rest] = keptDescriptions();
  assert.equal(rest.length, 0);
  assert.ok(line.startsWith('written: '), line);
  const entries = line.slice('written: '.length).split(', ');
  const checkpoints = entries.filter((e) => e.startsWith(ck));
  // 5 checkpoints every 128 rows + the final one were written; the folder keeps the last 2 and the final one.
  assert.ok(checkpoints.length >= 2 && checkpoints.length <= 3, line);
  for (const c of checkpoints) assert.ok(existsSync(c), `${c} is listed as kept but does not exist`);
  assert.deepEqual(entries.filter((e) => e.includes(pub)), [`5 files in ${pub}/ (1.bhm … 5.bhm)`]);
});
