// Headless Chromium for the browser tests and bench:web: find (or install, with apt-get, when running as root) the
// Debian `chromium`, launch it through puppeteer-core with a fresh profile, and serve pages from a loopback HTTP
// server. Everything started here is closed by the returned handles (server, browser, profile folder).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function found(): string | null {
  const env = process.env.BHEMBED_CHROMIUM;
  if (env !== undefined && env !== '' && existsSync(env)) return env;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/**
 * The Chromium executable, installed with `apt-get install -y chromium` when missing and apt-get is there (as root).
 * Returns { path } or { skip: reason } when it cannot be had on this machine.
 */
export function ensureChromium(): { path: string } | { skip: string } {
  const have = found();
  if (have !== null) return { path: have };
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (apt.status !== 0) return { skip: 'no chromium and no apt-get to install it (set BHEMBED_CHROMIUM to a Chromium binary)' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { skip: 'no chromium, and installing it with apt-get needs root (apt-get install -y chromium)' };
  const run = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 }).status === 0;
  if (!run(['install', '-y', '-q', 'chromium'])) run(['update', '-q']) && run(['install', '-y', '-q', 'chromium']);
  const now = found();
  return now !== null ? { path: now } : { skip: 'apt-get install -y chromium failed' };
}

/** Flags that work on these machines (no sandbox as root, no GPU, no network chatter). */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(executablePath: string): Promise<Chromium> {
  const puppeteer = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'bhembed-chromium-'));
  const browser = await puppeteer.launch({ executablePath, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`], headless: true, protocolTimeout: 300_000 });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      const pid = browser.process()?.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A route: its body and content type. */
export type Routes = Record<string, { body: Uint8Array | string; type: string }>;

/** An HTTP server on 127.0.0.1 (a free port) serving fixed routes; 404 for anything else. */
export async function serveRoutes(routes: Routes): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const r = routes[(req.url ?? '/').split('?')[0]];
    if (r === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': r.type, 'cache-control': 'no-store' }).end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
