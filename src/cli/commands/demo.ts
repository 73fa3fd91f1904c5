// `bhembed demo`: the README's first command. No arguments, no network: generates planted Criteo-format data,
// trains full, hash, QR and BH embeddings at about 100× and 1000× compression, prints the comparison table and
// writes the plot (./bhembed-demo/ by default). A few minutes on 2 cores; rerunning reuses data and finished runs.

import { trackPartial, untrackPartial } from '../../core/cleanup.js';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { IndexMethod } from '../../embedding/config.js';
import { generateCriteo } from '../../data/generate.js';
import { loadRunData, trainModel, type ModelOptions } from '../../experiment/pipeline.js';
import { ensureOutputDir, packageVersion, writeJson } from '../common.js';
import { writeDemoPage } from './demo-web.js';
import { parseIntOpt } from '../options.js';
import { pipelineReporter } from '../progress.js';
import { runGrid } from './sweep.js';

interface DemoFlags {
  outDir: string;
  rows: string;
  testRows: string;
  threads: string;
  quick?: boolean;
  quiet?: boolean;
  web?: boolean;
}

const METHODS: IndexMethod[] = ['full', 'hash', 'qr', 'bh', 'hybrid'];
/** The demo's model settings (every method; the web page's model is the BH one). */
const DEMO_MODEL: Omit<ModelOptions, 'method' | 'seed' | 'compression' | 'threads'> = { arch: 'deepfm', dim: 16, mlp: [128, 64], fusion: 'weighted', epochs: 1, batchSize: 256, lr: 0.002, optimizer: 'adam', bhStrategy: 'succession', patience: 0 };
const RATIOS = [10, 100, 1000];

/** The two largest ratios that leave every field at least 4 rows (small data cannot reach 1000×). */
export function demoRatios(fullRows: number, numFields: number): number[] {
  const ok = RATIOS.filter((r) => Math.floor(fullRows / r) >= 4 * numFields);
  return ok.length > 0 ? ok.slice(-2) : [RATIOS[0]];
}

/** Split the first `first` lines of src into a and the rest into b (streaming). */
async function splitLines(src: string, first: number, a: string, b: string): Promise<void> {
  trackPartial(a, `${a} (temporary)`);
  trackPartial(b, `${b} (temporary)`);
  const outA = createWriteStream(a);
  const outB = createWriteStream(b);
  const rl = createInterface({ input: createReadStream(src), crlfDelay: Infinity });
  let i = 0;
  for await (const line of rl) {
    const out = i++ < first ? outA : outB;
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  outA.end();
  outB.end();
  await Promise.all([once(outA, 'finish'), once(outB, 'finish')]);
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('generate data, train full/hash/QR/BH/hybrid at ~100× and ~1000× compression, print the table and write the plot')
    .option('--out-dir <dir>', 'where data, results and the plot go', 'bhembed-demo')
    .option('--rows <n>', 'training rows to generate', '400000')
    .option('--test-rows <n>', 'test rows to generate', '50000')
    .option('--threads <n>', 'training threads', '1')
    .option('--quick', 'a tiny version (20 000 rows) that finishes in seconds')
    .option('-q, --quiet', 'only the final table')
    .option('--web', 'also write web/index.html: pick field values and see the BH model score them in the browser (works offline from the file)')
    .addHelpText('after', '\nExample:\n  npx bhembed demo            # then open bhembed-demo/auc-vs-compression.svg\n  npx bhembed demo --web      # and open bhembed-demo/web/index.html')
    .action(async (flags: DemoFlags) => runDemo(flags));
}

async function runDemo(flags: DemoFlags): Promise<void> {
  const t0 = performance.now();
  const trainRows = flags.quick ? 20000 : parseIntOpt('--rows', flags.rows, 1000);
  const testRows = flags.quick ? 5000 : parseIntOpt('--test-rows', flags.testRows, 100);
  const threads = parseIntOpt('--threads', flags.threads, 1, 64);
  const log = (s: string): void => {
    if (!flags.quiet) process.stderr.write(`${s}\n`);
  };
  const dataDir = join(flags.outDir, 'data');
  ensureOutputDir('--out-dir', flags.outDir);
  mkdirSync(dataDir, { recursive: true });
  const gen = { rows: trainRows + testRows, seed: 2021, cardinalities: 'criteo-kaggle', zipfExponent: 1.1 };
  const manifest = join(dataDir, 'manifest.json');
  const train = join(dataDir, 'train.txt');
  const test = join(dataDir, 'test.txt');
  const same = existsSync(manifest) && existsSync(train) && existsSync(test) && readFileSync(manifest, 'utf8') === `${JSON.stringify({ ...gen, trainRows, testRows }, null, 2)}\n`;
  if (same) {
    log(`reusing ${train} and ${test}`);
  } else {
    log(`generating ${gen.rows} rows of planted Criteo-format data (26 categorical fields with Criteo Kaggle cardinalities, Zipf ${gen.zipfExponent})`);
    const all = join(dataDir, 'all.txt');
    // teacherSeed = seed: the same rows as before the teacher had a seed of its own (the README's figures).
    const st = await generateCriteo({ rows: gen.rows, out: all, probOut: join(dataDir, 'all.prob'), seed: gen.seed, teacherSeed: gen.seed, zipfExponent: gen.zipfExponent });
    log(`  ${st.positives} clicks (${((100 * st.positives) / gen.rows).toFixed(1)}%); the best possible AUC (true probabilities) is ${st.bayesAuc.toFixed(4)}`);
    await splitLines(all, trainRows, `${train}.tmp`, `${test}.tmp`);
    renameSync(`${train}.tmp`, train);
    renameSync(`${test}.tmp`, test);
    untrackPartial(`${train}.tmp`);
    untrackPartial(`${test}.tmp`);
    rmSync(all, { force: true }); // the split copies hold every row: a second full copy only took disk (230 MB)
    writeJson(manifest, { ...gen, trainRows, testRows });
  }
  const rep = pipelineReporter({ quiet: flags.quiet });
  const data = await loadRunData({ format: 'criteo', train, test }, rep.onProgress);
  const fullRows = data.distinct.reduce((a, n) => a + n + 1, 0);
  log(`${data.train.rows} training rows, ${fullRows} distinct values (+1 OOV row per field) → a full table of ${fullRows} rows`);
  const ratios = demoRatios(fullRows, data.train.numFields);
  if (ratios.at(-1) !== 1000) log(`(${fullRows} rows is too few for 1000×: comparing at ${ratios.join('× and ')}× instead)`);
  const grid = await runGrid(
    data,
    { ...DEMO_MODEL, threads },
    { methods: METHODS, compressions: ratios, seeds: [1], outDir: flags.outDir, title: 'bhembed demo: DeepFM test AUC vs embedding compression', quiet: flags.quiet },
  );
  process.stdout.write(`\n${grid.markdown}\n`);
  process.stdout.write(`plot: ${grid.files.svg}\ntable: ${grid.files.md}  (also ${grid.files.csv}, ${grid.files.json})\n`);
  if (flags.web) {
    // The page's model: BH at the smaller ratio with the grid's settings, saved as a model file (reused while the data is).
    const webDir = join(flags.outDir, 'web');
    mkdirSync(webDir, { recursive: true });
    const modelPath = join(webDir, 'model.bhm');
    const ratio = ratios[0];
    let about = '';
    if (!(same && existsSync(modelPath))) {
      log(`training the page's model: DeepFM with BH embeddings at ${ratio}× compression`);
      const { metrics } = await trainModel(data, { ...DEMO_MODEL, threads, method: 'bh', compression: ratio, seed: 1 }, { out: modelPath, onProgress: (e) => (e.type === 'phase' ? undefined : rep.onProgress(e)), version: packageVersion() });
      rep.done();
      about = `DeepFM, BH embeddings at ${metrics.embedding.compression.toFixed(0)}× compression (${metrics.embedding.rows} rows), test AUC ${metrics.test?.auc.toFixed(4) ?? '?'}, trained by bhembed demo on planted Criteo-format data.`;
      writeJson(join(webDir, 'about.json'), { about });
    } else about = (JSON.parse(readFileSync(join(webDir, 'about.json'), 'utf8')) as { about: string }).about;
    const firstLines = (path: string, n: number): string[] => readFileSync(path, 'utf8').split('\n', n).filter((l) => l !== '');
    const page = writeDemoPage(join(webDir, 'index.html'), { model: readFileSync(modelPath), trainLines: firstLines(train, 20000), testLines: firstLines(test, 40), about });
    process.stdout.write(`web page: ${page}  (open it in a browser: it scores offline)\n`);
  }
  log(`demo finished in ${((performance.now() - t0) / 1000).toFixed(0)} s (${grid.ran} run(s) trained, ${grid.skipped} reused)`);
}
