// Publishing while training (issue 10 item 8): `train --publish-dir models/ctr --publish-every 2000` writes
// models/ctr/1.bhm, 2.bhm, … by atomic rename. A real training process is watched the whole time: every version file
// present is complete (decodes, checksum included) and the numbers run 1..N without gaps; a model repository over
// models/ (what `bhembed serve --model-dir models` runs) loads the versions as they come and ends on the last; and
// the last version, written after the last step, scores exactly as the final model file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';
import { readModelFile } from '../../src/models/model-file.js';
import { openRepository, type ModelRepository } from '../../src/serve/http/models.js';

test('--publish-every: numbered, complete versions at every moment, picked up by a model-dir repository', async () => {
  const dir = tempDir('bhembed-publish-');
  const all = join(dir, 'all.txt');
  const g = await bhembedInProcess(['generate', '--rows', '13000', '--out', all, '--no-prob', '--cardinalities', 'kaggle/1000', '--seed', '4', '-q']);
  assert.equal(g.status, 0, g.stderr);
  const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
  const train = join(dir, 'train.txt');
  const testFile = join(dir, 'test.txt');
  writeFileSync(train, `${lines.slice(0, 12000).join('\n')}\n`);
  writeFileSync(testFile, `${lines.slice(12000).join('\n')}\n`);
  const root = join(dir, 'models');
  const pub = join(root, 'ctr');
  const out = join(dir, 'final.bhm');
  const args = ['train', '--train', train, '--format', 'criteo', '--embedding', 'bh', '--block-bits', '6', '--dim', '8', '--mlp', '32', '--epochs', '2', '--optimizer', 'adam', '--publish-dir', pub, '--publish-every', '2000', '--out', out, '-q'];

  const checked = new Set<string>();
  const problems: string[] = [];
  const loaded: string[] = [];
  let repo: ModelRepository | null = null;
  let opening = false;
  const look = (): void => {
    let names: string[];
    try {
      names = readdirSync(pub).filter((n) => /^[0-9]+\.bhm$/.test(n));
    } catch {
      return;
    }
    const nums = names.map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b);
    if (nums.some((v, i) => v !== i + 1)) problems.push(`versions not 1..N: ${nums.join(',')}`);
    for (const n of names) {
      if (checked.has(n)) continue;
      try {
        readModelFile(join(pub, n));
        checked.add(n);
      } catch (e) {
        problems.push(`${n}: ${(e as Error).message}`);
      }
    }
    if (names.length > 0 && repo === null && !opening) {
      opening = true;
      void openRepository(root, { onEvent: (e) => void (e.type === 'loaded' && loaded.push(e.version)) }).then((r) => (repo = r));
    } else void repo?.scan();
  };
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const timer = setInterval(look, 5);
    child.on('error', reject);
    child.on('exit', (c) => {
      clearInterval(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
  for (let i = 0; i < 100 && repo === null; i++) await new Promise((r) => setTimeout(r, 20));
  look();
  const r = repo as ModelRepository | null;
  assert.ok(r !== null, 'the repository opened');
  await r.scan();
  // 2 epochs × 12,000 rows, one version per 2,000 rows.
  assert.deepEqual(readdirSync(pub).sort((a, b) => parseInt(a) - parseInt(b)), Array.from({ length: 12 }, (_, i) => `${i + 1}.bhm`));
  assert.deepEqual(problems, []);
  assert.equal(checked.size, 12);
  assert.equal(r.models.get('ctr')?.current?.version, '12');
  assert.ok(loaded.length >= 2 && loaded.every((v, i) => i === 0 || Number(v) > Number(loaded[i - 1])), `versions loaded in order: ${loaded.join(',')}`);
  await r.close();
  const meta = readModelFile(join(pub, '12.bhm')).meta as { published?: { version: number; trainingRows: number } };
  assert.deepEqual(meta.published, { version: 12, trainingRows: 24000 });
  const p12 = await bhembedInProcess(['predict', join(pub, '12.bhm'), testFile, '-o', join(dir, 'p12.csv')]);
  const pOut = await bhembedInProcess(['predict', out, testFile, '-o', join(dir, 'pout.csv')]);
  assert.equal(p12.status + pOut.status, 0, p12.stderr + pOut.stderr);
  assert.ok(readFileSync(join(dir, 'p12.csv')).equals(readFileSync(join(dir, 'pout.csv'))), 'the last version scores as the final model');
  // A later run goes on numbering.
  const again = await bhembedInProcess(args.map((a, i) => (args[i - 1] === '--epochs' ? '1' : a)));
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(readdirSync(pub).filter((n) => /^1[3-8]\.bhm$/.test(n)).length, 6);
});
