// Node module-resolve hook for the TensorFlow.js peer: tfjs-core's node bundle ships no gradients (the
// @tensorflow/tfjs union package registers them from tfjs-core's ESM dist), and that ESM dist uses
// extensionless relative imports. This hook adds `.js` / `/index.js` for files inside tfjs-core/dist only.

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Next = (spec: string, ctx: { parentURL?: string }) => Promise<unknown>;

export async function resolve(spec: string, ctx: { parentURL?: string }, next: Next): Promise<unknown> {
  const parent = ctx.parentURL;
  if ((spec.startsWith('./') || spec.startsWith('../')) && parent?.includes('/@tensorflow/tfjs-core/dist/') && !spec.endsWith('.js')) {
    const url = new URL(spec, parent);
    const path = fileURLToPath(url);
    if (existsSync(path + '.js')) return next(url.href + '.js', ctx);
    if (existsSync(path) && statSync(path).isDirectory()) return next(url.href + '/index.js', ctx);
  }
  return next(spec, ctx);
}
