// Starts and stops real `nats-server -js` processes on loopback for the cluster tests and bench: one server or a
// 3-server JetStream cluster (the config of docs/cluster.md), random free ports, temp store dirs, each process
// stopped by its pid. Installs Debian's nats-server with apt when it is missing and apt is there (CI runs as root
// on a fresh machine); natsServerMissing() says why the tests skip where it cannot.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let checked: string | null | undefined;

function hasServer(): boolean {
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** null when nats-server runs (installing it with apt first if needed), else the reason the caller should skip. */
export function natsServerMissing(): string | null {
  if (checked !== undefined) return checked;
  if (hasServer()) return (checked = null);
  if (spawnSync('apt-get', ['--version']).status !== 0) return (checked = 'nats-server is not installed and apt-get is absent (install the nats-server package)');
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? [] : ['sudo', '-n'];
  const run = (args: string[]): boolean => {
    const [cmd, ...rest] = [...sudo, ...args];
    return spawnSync(cmd, rest, { stdio: 'ignore', timeout: 300_000 }).status === 0;
  };
  // Another apt may hold the lock (shared machines): wait for it rather than fail.
  run(['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'update']);
  run(['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y', 'nats-server']);
  return (checked = hasServer() ? null : 'nats-server is not installed and `apt-get install -y nats-server` failed (not root?)');
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/**
 * n distinct free loopback ports: every socket stays open until all n are bound, so no two are the same (one at a
 * time, the kernel may hand a just-closed port out again: "Duplicate route entry" in a cluster config).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Another process may take a port between freePorts and the server's bind: start again on fresh ports, 3 tries. */
async function withRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

async function waitPort(port: number, proc: ChildProcess, log: () => string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port}: ${log()}`);
}

export interface NatsNode {
  port: number;
  proc: ChildProcess;
  /** kill -9 this server. */
  kill(): void;
}

export interface NatsCluster {
  /** nats://127.0.0.1:P1,nats://127.0.0.1:P2,… (every server: clients fail over). */
  url: string;
  nodes: NatsNode[];
  /** Stop every server still running (by pid) and delete the store dirs. */
  stop(): Promise<void>;
}

function startNode(args: string[], dir: string): { proc: ChildProcess; log: () => string } {
  let out = '';
  const proc = spawn('nats-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  });
  return { proc, log: () => out };
}

function stopper(nodes: NatsNode[], dir: string): () => Promise<void> {
  return async () => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.proc.exitCode !== null || n.proc.signalCode !== null || n.proc.pid === undefined) return resolve();
            n.proc.once('exit', () => resolve());
            process.kill(n.proc.pid, 'SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
}

/** One `nats-server -js` on a free loopback port. */
export async function startNats(): Promise<NatsCluster> {
  return withRetries(startNatsOnce);
}

async function startNatsOnce(): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bhembed-nats-'));
  const port = await freePort();
  const { proc, log } = startNode(['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js')], dir);
  const node: NatsNode = { port, proc, kill: () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL') };
  const nodes = [node];
  try {
    await waitPort(port, proc, log);
  } catch (e) {
    await stopper(nodes, dir)();
    throw e;
  }
  return { url: `nats://127.0.0.1:${port}`, nodes, stop: stopper(nodes, dir) };
}

/** The 3-server JetStream cluster config of docs/cluster.md, one file per server. */
export function clusterConfig(name: string, port: number, routePort: number, routes: number[], storeDir: string): string {
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: "${storeDir}" }`,
    'cluster {',
    '  name: bhembed',
    `  listen: 127.0.0.1:${routePort}`,
    `  routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

/** Three `nats-server` processes forming one JetStream cluster on loopback. */
export async function startNatsCluster(): Promise<NatsCluster> {
  return withRetries(startNatsClusterOnce);
}

async function startNatsClusterOnce(): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bhembed-nats3-'));
  const all = await freePorts(6);
  const ports = all.slice(0, 3);
  const routes = all.slice(3);
  const nodes: NatsNode[] = [];
  const logs: (() => string)[] = [];
  for (let i = 0; i < 3; i++) {
    const conf = join(dir, `n${i}.conf`);
    writeFileSync(conf, clusterConfig(`n${i}`, ports[i], routes[i], routes, join(dir, `js${i}`)));
    const { proc, log } = startNode(['-c', conf], dir);
    logs.push(log);
    nodes.push({ port: ports[i], proc, kill: () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL') });
  }
  const stop = stopper(nodes, dir);
  try {
    for (let i = 0; i < 3; i++) await waitPort(ports[i], nodes[i].proc, logs[i]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: ports.map((p) => `nats://127.0.0.1:${p}`).join(','), nodes, stop };
}
