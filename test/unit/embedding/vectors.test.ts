// The index test vectors (test/vectors/index-vectors.json) are what another language checks itself against.
// Here: the fast path reproduces every vector, and the slow reference regenerates the file byte for byte.
// Regenerate after a deliberate spec change with BHEMBED_WRITE_VECTORS=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIndexer } from '../../../src/embedding/registry.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { BatchHasher } from '../../../src/hash/xxh64.js';
import { loadReference, vectorCases } from './reference-index.js';
import type { VectorCase } from './reference-index.js';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

const FILE = join(repoRoot(), 'test/vectors/index-vectors.json');

function render(cases: VectorCase[]): string {
  const header = {
    about: 'bhembed index test vectors, see docs/index-spec.md. hash = XXH64(UTF-8 value, seed = field) as 16 hex digits (the integer value itself when dense is true); rows = the rows the spec maps it to.',
    cases: [] as VectorCase[],
  };
  const lines = cases.map((c) => '    ' + JSON.stringify(c));
  return JSON.stringify(header, null, 2).replace('"cases": []', `"cases": [\n${lines.join(',\n')}\n  ]`) + '\n';
}

test('the vectors file is what the reference generates', async () => {
  const ref = await loadReference();
  const text = render(vectorCases(ref));
  if (process.env.BHEMBED_WRITE_VECTORS === '1') writeFileSync(FILE, text);
  assert.equal(readFileSync(FILE, 'utf8'), text);
});

test('the fast path reproduces every vector', () => {
  const { cases } = JSON.parse(readFileSync(FILE, 'utf8')) as { cases: VectorCase[] };
  assert.ok(cases.length > 100);
  const hasher = new BatchHasher();
  const ids = new Uint32Array(2);
  for (const c of cases) {
    if (c.dense === true) {
      const v = BigInt(c.value);
      ids[0] = Number(v & 0xffffffffn);
      ids[1] = Number(v >> 32n);
    } else {
      hasher.hashStrings([c.value], c.field, ids);
    }
    assert.equal(ids[1].toString(16).padStart(8, '0') + ids[0].toString(16).padStart(8, '0'), c.hash, `hash of ${JSON.stringify(c.value)}`);
    const ix = createIndexer(c.spec as IndexSpec);
    const out = new Int32Array(ix.rowsPerValue);
    ix.index(ids, 1, out);
    assert.deepEqual(Array.from(out), c.rows, JSON.stringify(c));
  }
});
