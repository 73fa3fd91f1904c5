// `train --publish-dir DIR --publish-every ROWS`: numbered model files DIR/1.bhm, DIR/2.bhm, … written while training
// (temp file + fsync + rename, so a reader sees whole files only), in the layout `bhembed serve --model-dir` watches
// (serve/http/models.ts: a folder of numbered versions, the highest served).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IoError } from '../../core/errors.js';

const VERSION_FILE = /^([0-9]{1,15})\.bhm$/;

/** The version after the highest N.bhm in dir (1 for an empty or missing folder): a later run goes on numbering. */
export function nextVersion(dir: string): number {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new IoError(`${dir}: cannot read the publish folder (${code ?? String(e)})`, { file: dir });
  }
  let max = 0;
  for (const n of names) {
    const m = VERSION_FILE.exec(n);
    if (m !== null) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

export function publishPath(dir: string, version: number): string {
  return join(dir, `${version}.bhm`);
}
