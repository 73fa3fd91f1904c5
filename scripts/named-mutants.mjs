// The audit's named mutants (issue 15), applied one at a time by hand: each is a one-line change to the source
// that the suite used to miss. For each: copy src/ and test/ to a temp tree, apply it, transpile (esbuild, as the
// Stryker sandbox does), run the test files that should catch it, and print which tests fail and their first
// message. Exits 1 if any mutant survives.
//   npm run build && node scripts/named-mutants.mjs [name …]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** name, file, the exact text, its replacement, the test files (under dist/test/) that must fail. */
const MUTANTS = [
  ['early stopping never stops', 'src/train/trainer.ts', 'return es !== null && bad >= es.patience;', 'return false;', ['unit/train/early-stopping', 'e2e/regularization-flags']],
  ['patience off by one', 'src/train/trainer.ts', 'return es !== null && bad >= es.patience;', 'return es !== null && bad > es.patience;', ['unit/train/early-stopping', 'e2e/regularization-flags']],
  ['--embedding-lr ignored', 'src/nn/optim/sparse.ts', 'const lr = cfg.embeddingLr;', 'const lr = cfg.lr;', ['unit/nn/optim', 'e2e/regularization-flags']],
  ['--embedding-lr not passed on', 'src/experiment/pipeline.ts', 'if (m.embeddingLr !== undefined) o.embeddingLr = m.embeddingLr;', '', ['e2e/regularization-flags']],
  ['--l2 not passed on', 'src/experiment/pipeline.ts', 'if (m.embeddingL2 !== undefined && m.embeddingL2 > 0) o.embeddingL2 = m.embeddingL2;', '', ['e2e/regularization-flags']],
  ['--init-std not passed on', 'src/experiment/pipeline.ts', 'if (m.initStd !== undefined) config.initStd = m.initStd;', '', ['e2e/regularization-flags']],
  ['QR collapses into the hashing trick', 'src/embedding/planner.ts', 'const m = Math.ceil(rows / 2);', 'const m = rows - 1;', ['unit/embedding/planner']],
  ['token cache slot without its field', 'src/data/tokens.ts', 'const slot = (f << this.bits) + (', 'const slot = (', ['unit/data/token-fields']],
  ['dense BH rejects S = 32 (indexer)', 'src/embedding/binary-code.ts', 'S >= 32 ? hi >>> (S - 32)', 'S > 32 ? hi >>> (S - 32)', ['unit/embedding/binary-code']],
  ['dense BH at S = 32 leaves the fused path (embedding bag)', 'src/nn/embedding-bag.ts', 'codeBits >= 32 ? hi >>> (codeBits - 32)', 'codeBits > 32 ? hi >>> (codeBits - 32)', ['unit/nn/fused-bag']],
  ['every error exits 1', 'src/cli/handle-error.ts', "e.code === 'usage' || e.code === 'config.invalid' ? EXIT_USAGE : EXIT_RUNTIME", 'EXIT_RUNTIME', ['e2e/bad-input', 'e2e/int8-static']],
  ['every error exits 2', 'src/cli/handle-error.ts', "e.code === 'usage' || e.code === 'config.invalid' ? EXIT_USAGE : EXIT_RUNTIME", 'EXIT_USAGE', ['e2e/bad-input']],
  ['0.1.0 libsvm/libffm files take value weights (models/model-codec.ts: the valueWeights check dropped)', 'src/models/model-codec.ts', 'return weighted && reader.valueWeights !== true;', 'return false;', ['unit/serve/compat-fixture', 'export/compat-weights']],
  ['a byte budget planned at 30 %', 'src/experiment/pipeline.ts', 'let plan = planEmbeddings(fields, { ...target, budgetBytes: budget });', 'let plan = planEmbeddings(fields, { ...target, budgetBytes: Math.floor(budget * 0.3) });', ['unit/experiment/pipeline']],
];

const only = process.argv.slice(2);
let survived = 0;
for (const [name, file, from, to, tests] of MUTANTS) {
  if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
  const dir = mkdtempSync(join(tmpdir(), 'bhembed-mutant-'));
  try {
    for (const d of ['src', 'test', 'scripts']) cpSync(join(root, d), join(dir, d), { recursive: true });
    for (const f of ['tsconfig.json', 'package.json']) cpSync(join(root, f), join(dir, f));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const src = readFileSync(join(dir, file), 'utf8');
    const n = src.split(from).length - 1;
    if (n !== 1) throw new Error(`${name}: '${from}' occurs ${n} times in ${file} (the code moved? update the mutant)`);
    writeFileSync(join(dir, file), src.replace(from, to));
    const b = spawnSync(process.execPath, [join(dir, 'scripts', 'mutation-build.mjs')], { cwd: dir, env: { ...process.env, MUTATION_ROOT: root }, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`${name}: build failed: ${b.stderr}`);
    const files = tests.map((t) => join(dir, 'dist', 'test', `${t}.test.js`));
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
    const failed = [];
    const lines = r.stdout.split('\n');
    lines.forEach((l, i) => {
      const m = /^\s*not ok \d+ - (.*)$/.exec(l);
      if (!m || m[1].startsWith(dir)) return;
      const j = lines.slice(i + 1, i + 40).findIndex((x) => /^\s+error: /.test(x));
      let err = j < 0 ? '' : lines[i + 1 + j].trim();
      if (/\|-?$/.test(err)) err = `error: ${lines[i + 2 + j].trim()}`; // a multi-line YAML block
      failed.push(`${m[1]}\n      ${err.slice(0, 220)}`);
    });
    if (failed.length === 0) survived++;
    console.log(`${failed.length > 0 ? 'KILLED  ' : 'SURVIVED'} ${name}  (${file}: ${from} → ${to || '(deleted)'})`);
    for (const f of failed) console.log(`    ${f}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(survived > 0 ? 1 : 0);
