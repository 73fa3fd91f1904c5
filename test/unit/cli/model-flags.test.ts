// Flags the chosen model would ignore are usage errors naming the flag: --mlp without a deep tower (lr, fm) and
// --dim with lr (one weight per value). --mlp '' (no hidden layer) is allowed for the models with a tower.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bhembed, criteoLines, tempDir } from '../../e2e/cli-helpers.js';

const dir = tempDir('bhembed-model-flags-');
const train = join(dir, 'train.txt');
writeFileSync(train, `${criteoLines(300, 1).join('\n')}\n`);
const base = ['--train', train, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '-q'];

test('--mlp with lr / fm and --dim with lr exit 2 naming the flag, for train and sweep', () => {
  const cases: [string[], string][] = [
    [['--model', 'lr', '--mlp', '8'], 'bhembed: --mlp: --model lr has no deep tower, so --mlp would be ignored; drop it, or pick a model with one (dnn, wdl, deepfm, dcnv2)\n'],
    [['--model', 'fm', '--mlp', '8'], 'bhembed: --mlp: --model fm has no deep tower, so --mlp would be ignored; drop it, or pick a model with one (dnn, wdl, deepfm, dcnv2)\n'],
    [['--model', 'lr', '--dim', '4'], 'bhembed: --dim: --model lr learns one weight per value (no embedding vectors), so --dim would be ignored; drop it\n'],
  ];
  for (const [flags, stderr] of cases) {
    const r = bhembed(['train', ...base, ...flags]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, stderr);
  }
  const s = bhembed(['sweep', '--train', train, '--test', train, '--format', 'criteo', '--model', 'lr', '--mlp', '8', '--out-dir', join(dir, 'sweep'), '-q']);
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /^bhembed: --mlp: --model lr has no deep tower/);
});

test("the defaults stay silent; --dim with fm and --mlp '' with dnn train", () => {
  for (const flags of [['--model', 'lr'], ['--model', 'fm', '--dim', '4'], ['--model', 'dnn', '--dim', '4', '--mlp', '']]) {
    const r = bhembed(['train', ...base, ...flags]);
    assert.equal(r.status, 0, `${flags.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
  }
});
