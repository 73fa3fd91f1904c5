// `bhembed demo --web`: one self-contained HTML page (the bhembed/web bundle, the demo's BH model and its choices
// inlined) where a person picks field values and sees the click probability change. It opens from a file:// URL or
// any loopback server and needs no network. Writes files only; the model comes from the demo's data and settings.

import { readFileSync } from 'node:fs';
import { IoError } from '../../core/errors.js';
import { writeFileAtomic } from '../../models/model-file.js';

/** dist/src/web/bhembed-web.js, next to this command's compiled file. */
const BUNDLE_URL = new URL('../../web/bhembed-web.js', import.meta.url);

export interface DemoPageInput {
  /** The `.bhm` bytes. */
  model: Uint8Array;
  /** Criteo lines (label \t I1..I13 \t C1..C26) the choices and example rows come from. */
  trainLines: string[];
  testLines: string[];
  /** A line of text shown under the title (what the model is). */
  about: string;
}

const INT_FIELDS = Array.from({ length: 13 }, (_, i) => `I${i + 1}`);
const CAT_FIELDS = Array.from({ length: 26 }, (_, i) => `C${i + 1}`);
/** Choices per field: its most frequent training values. */
const CHOICES = 12;

/** The most frequent values of each of the 39 columns over the lines (ties: first seen). */
function topValues(lines: string[]): Record<string, string[]> {
  const names = [...INT_FIELDS, ...CAT_FIELDS];
  const counts = names.map(() => new Map<string, number>());
  for (const line of lines) {
    const cols = line.split('\t');
    for (let c = 0; c < names.length; c++) {
      const v = cols[c + 1] ?? '';
      counts[c].set(v, (counts[c].get(v) ?? 0) + 1);
    }
  }
  const out: Record<string, string[]> = {};
  names.forEach((n, c) => {
    out[n] = [...counts[c].entries()].sort((a, b) => b[1] - a[1]).slice(0, CHOICES).map(([v]) => v);
  });
  return out;
}

function rowOf(line: string): { label: number; values: Record<string, string> } {
  const cols = line.split('\t');
  const values: Record<string, string> = {};
  [...INT_FIELDS, ...CAT_FIELDS].forEach((n, c) => (values[n] = cols[c + 1] ?? ''));
  return { label: Number(cols[0]), values };
}

/** `</script` inside inlined text would end the element: escape the slash (valid in JS strings, JSON and base64-free text). */
const inline = (s: string): string => s.replace(/<\/script/gi, '<\\/script');

export function demoPageHtml(input: DemoPageInput, bundle: string): string {
  const data = {
    choices: topValues(input.trainLines),
    examples: input.testLines.slice(0, 40).map(rowOf),
    about: input.about,
  };
  const modelB64 = Buffer.from(input.model).toString('base64');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bhembed demo: click probability in the browser</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 4px; } .about { color: #555; margin-bottom: 16px; }
.score { display: flex; align-items: center; gap: 16px; margin: 12px 0 18px; }
.score .p { font-size: 40px; font-weight: 600; min-width: 150px; font-variant-numeric: tabular-nums; }
.bar { flex: 1; height: 18px; background: #eee; border-radius: 9px; overflow: hidden; max-width: 500px; }
.bar div { height: 100%; background: #2a7ae2; width: 0; transition: width .15s; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: 8px 14px; }
label { display: flex; flex-direction: column; font-size: 12px; color: #444; }
select { font: 13px ui-monospace, monospace; padding: 2px; }
button { font-size: 13px; padding: 4px 10px; margin-right: 8px; }
.note { color: #666; font-size: 12px; margin-top: 16px; } .err { color: #b00; white-space: pre-wrap; }
</style></head>
<body>
<h1>Click probability, scored in this page</h1>
<div class="about" id="about"></div>
<div class="score"><div class="p" id="p">…</div><div class="bar"><div id="bar"></div></div><div id="meta"></div></div>
<div><button id="example">load a test row</button><button id="missing">all missing</button><span id="label"></span></div>
<p></p>
<div class="grid" id="fields"></div>
<div class="note">Each field lists its most frequent training values. Values are hashed with XXH64 exactly as bhembed's Criteo reader
does (integer columns through ⌊ln(v)²⌋), then scored by bhembed's own WASM kernels: no server, no network, no onnxruntime.</div>
<div class="err" id="err"></div>
<script type="text/plain" id="bhembed-bundle">${inline(bundle)}</script>
<script type="text/plain" id="bhembed-model">${modelB64}</script>
<script type="application/json" id="bhembed-data">${inline(JSON.stringify(data))}</script>
<script type="module">
const $ = (id) => document.getElementById(id);
try {
  const code = $('bhembed-bundle').textContent;
  const bh = await import(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  const bytes = Uint8Array.from(atob($('bhembed-model').textContent), (c) => c.charCodeAt(0));
  const data = JSON.parse($('bhembed-data').textContent);
  const model = await bh.WebModel.load(bytes, { maxBatch: 8 });
  $('about').textContent = data.about;
  const selects = {};
  for (const name of model.fieldNames) {
    const l = document.createElement('label');
    l.textContent = name;
    const s = document.createElement('select');
    const opts = [...new Set(['', ...(data.choices[name] ?? [])])];
    for (const v of opts) s.add(new Option(v === '' ? '(missing)' : v, v));
    s.addEventListener('change', update);
    l.append(s);
    $('fields').append(l);
    selects[name] = s;
  }
  function setValue(name, v) {
    const s = selects[name];
    if (![...s.options].some((o) => o.value === v)) s.add(new Option(v, v));
    s.value = v;
  }
  let busy = Promise.resolve();
  async function update() {
    busy = busy.then(async () => {
      const row = {};
      for (const [name, s] of Object.entries(selects)) row[name] = s.value;
      const t0 = performance.now();
      const [p] = await model.score([row]);
      const ms = performance.now() - t0;
      $('p').textContent = p.toFixed(4);
      $('bar').style.width = (100 * p).toFixed(1) + '%';
      $('meta').textContent = 'scored in ' + ms.toFixed(2) + ' ms';
      document.body.dataset.probability = String(p);
    });
    return busy;
  }
  let next = 0;
  $('example').addEventListener('click', async () => {
    const ex = data.examples[next++ % data.examples.length];
    for (const [name, v] of Object.entries(ex.values)) setValue(name, v);
    $('label').textContent = 'test row ' + next + ' (clicked: ' + (ex.label === 1 ? 'yes' : 'no') + ')';
    await update();
  });
  $('missing').addEventListener('click', async () => {
    for (const name of Object.keys(selects)) setValue(name, '');
    $('label').textContent = '';
    await update();
  });
  $('example').click();
  window.bhembedDemo = { model, selects, update };
} catch (e) {
  $('err').textContent = String(e && e.stack || e);
  document.body.dataset.error = String(e);
}
</script>
</body></html>
`;
}

/** Write the page; returns its path. */
export function writeDemoPage(path: string, input: DemoPageInput): string {
  let bundle: string;
  try {
    bundle = readFileSync(BUNDLE_URL, 'utf8');
  } catch {
    throw new IoError(`demo --web: the browser bundle ${BUNDLE_URL.pathname} is missing; run npm run build`, { file: BUNDLE_URL.pathname });
  }
  writeFileAtomic(path, new TextEncoder().encode(demoPageHtml(input, bundle)));
  return path;
}
