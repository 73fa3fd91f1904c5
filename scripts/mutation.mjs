// npm run test:mutation [-- folder …]: StrykerJS over the core, one folder at a time (stryker.config.mjs lists the
// folders with their source files and the tests that cover them), at nice 10 and concurrency 2 (MUTATION_CONCURRENCY
// to change it): the machine is shared. Prints each folder's mutation score and the surviving mutants, and writes
// reports/mutation/<folder>.json (Stryker's mutation-testing-elements report).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FOLDERS } from '../stryker.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(FOLDERS);
for (const n of names) {
  if (!(n in FOLDERS)) {
    console.error(`test:mutation: unknown folder '${n}'; one of ${Object.keys(FOLDERS).join(', ')}`);
    process.exit(2);
  }
}
// The sandbox build copies the WASM kernels from this project's build (scripts/mutation-build.mjs).
if (!existsSync(join(root, 'dist', 'src', 'kernels', 'kernels.wasm'))) {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const rows = [];
for (const name of names) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${FOLDERS[name].mutate.join(' ')} against ${FOLDERS[name].tests.join(' ')}`);
  const r = spawnSync('nice', ['-n', '10', process.execPath, stryker, 'run', 'stryker.config.mjs'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MUTATION_FOLDER: name, MUTATION_ROOT: root },
  });
  if (r.status !== 0) {
    console.error(`test:mutation: stryker failed on ${name} (exit ${r.status})`);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(join(root, 'reports', 'mutation', `${name}.json`), 'utf8'));
  const count = {};
  const survivors = [];
  for (const [file, f] of Object.entries(report.files)) {
    for (const m of f.mutants) {
      count[m.status] = (count[m.status] ?? 0) + 1;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}: ${JSON.stringify(m.replacement ?? '')}`);
      }
    }
  }
  const killed = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const detectable = killed + (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  rows.push({ name, killed, survived: count.Survived ?? 0, noCoverage: count.NoCoverage ?? 0, errors: (count.CompileError ?? 0) + (count.RuntimeError ?? 0), score: detectable > 0 ? (100 * killed) / detectable : NaN, minutes: (Date.now() - t0) / 60000 });
  console.log(`\n${name} survivors:\n${survivors.join('\n') || '(none)'}`);
}
console.log('\nfolder      killed  survived  no-cov  errors  score    minutes');
for (const r of rows) {
  console.log(`${r.name.padEnd(11)} ${String(r.killed).padStart(6)}  ${String(r.survived).padStart(8)}  ${String(r.noCoverage).padStart(6)}  ${String(r.errors).padStart(6)}  ${r.score.toFixed(1).padStart(5)} %  ${r.minutes.toFixed(1).padStart(7)}`);
}
