// Re-test the survivors (Survived, NoCoverage) of a StrykerJS report against the current tests, one mutant at a time,
// without a whole Stryker run: each is applied alone to a copy of src/ and test/ (at its location; when the file has
// changed since the report, at the one line of the current file with the same text, else reported as moved), the
// copy is transpiled as the Stryker sandbox is (scripts/mutation-build.mjs), and the folder's test files run (as
// stryker.config.mjs lists them). For after adding tests that target a run's survivors.
//   node scripts/mutation-replay.mjs <folder> [report.json [regex: only the mutants whose 'file:line:col mutator' matches]]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FOLDERS } from '../stryker.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [folder, reportPath, onlyRe] = process.argv.slice(2);
const only = onlyRe === undefined ? undefined : new RegExp(onlyRe);
if (!(folder in FOLDERS)) {
  console.error(`mutation-replay: unknown folder '${folder}'; one of ${Object.keys(FOLDERS).join(', ')}`);
  process.exit(2);
}
const report = JSON.parse(readFileSync(reportPath ?? join(root, 'reports', 'mutation', `${folder}.json`), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'bhembed-replay-'));
const count = { killed: 0, survived: 0, moved: 0 };
try {
  for (const d of ['src', 'test', 'scripts']) cpSync(join(root, d), join(dir, d), { recursive: true });
  for (const f of ['tsconfig.json', 'package.json']) cpSync(join(root, f), join(dir, f));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  // one full transpile, then only the mutated file again for each mutant
  const b = spawnSync(process.execPath, [join(dir, 'scripts', 'mutation-build.mjs')], { cwd: dir, env: { ...process.env, MUTATION_ROOT: root }, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  const build = async (file) => {
    const { build: esbuild } = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
    await esbuild({ entryPoints: [join(dir, file)], outdir: join(dir, 'dist'), outbase: dir, format: 'esm', platform: 'node', target: 'es2022', bundle: false, logLevel: 'error' });
  };
  // the test files, expanded from the folder's globs (brace lists and one *)
  const tests = FOLDERS[folder].tests.flatMap((g) => {
    const m = /^(.*)\{([^}]*)\}(.*)$/.exec(g);
    return m ? m[2].split(',').map((x) => m[1] + x + m[3]) : [g];
  });
  for (const [file, f] of Object.entries(report.files)) {
    const current = readFileSync(join(root, file), 'utf8');
    const now = current.split('\n');
    const then = f.source.split('\n');
    for (const m of f.mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      const { start, end } = m.location;
      const name = `${file}:${start.line}:${start.column} ${m.mutatorName} ${JSON.stringify(m.replacement)}`;
      // the mutant's lines in the current file: the same lines if unchanged, else the one line with the same text
      let text;
      const unchanged = then.slice(start.line - 1, end.line).every((l, k) => now[start.line - 1 + k] === l);
      if (unchanged) {
        const head = now.slice(0, start.line - 1).join('\n').length + (start.line > 1 ? 1 : 0);
        const from = head + start.column - 1;
        const to = now.slice(0, end.line - 1).join('\n').length + (end.line > 1 ? 1 : 0) + end.column - 1;
        text = current.slice(0, from) + m.replacement + current.slice(to);
      } else {
        const same = now.map((l, i) => (l === then[start.line - 1] ? i + 1 : -1)).filter((i) => i > 0);
        if (same.length !== 1 || end.line !== start.line) {
          count.moved++;
          console.log(`MOVED    ${name}`);
          continue;
        }
        const lines = now.slice();
        const l = lines[same[0] - 1];
        lines[same[0] - 1] = l.slice(0, start.column - 1) + m.replacement + l.slice(end.column - 1);
        text = lines.join('\n');
      }
      if (only !== undefined && !only.test(name)) continue;
      writeFileSync(join(dir, file), text);
      await build(file);
      // the test files one at a time (the one named like the mutated file first), stopping at the first that fails
      const stem = file.split('/').pop().replace(/\.ts$/, '').split('-')[0];
      const order = [...tests].sort((x, y) => Number(!x.includes(`/${stem}.test`)) - Number(!y.includes(`/${stem}.test`)));
      let failed = false;
      let first = '';
      for (const t of order) {
        const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(dir, t)], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 30_000 });
        if (r.status !== 0 || /^\s*not ok /m.test(r.stdout)) {
          failed = true;
          first = `${t.split('/').pop()}: ${(/^\s*not ok \d+ - (.*)$/m.exec(r.stdout)?.[1] ?? (r.error ? 'timeout' : `exit ${r.status}`)).slice(0, 110)}`;
          break;
        }
      }
      count[failed ? 'killed' : 'survived']++;
      console.log(`${failed ? 'KILLED  ' : 'SURVIVED'} ${name}${failed ? `  (${first})` : ''}`);
      writeFileSync(join(dir, file), current);
      await build(file);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\n${folder}: of the report's survivors ${count.killed} killed, ${count.survived} survive, ${count.moved} on changed lines (not applied)`);
