/**
 * Real weft daemons, N = 10, 25, 50, each in a network namespace of its own on
 * one bridge (no dockerd: the mesh needs none): the time until an endpoint made
 * on one daemon is known to every other, the time until a killed daemon is
 * marked dead everywhere, idle mesh bandwidth per peer, and each daemon's
 * memory and CPU at rest.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { BenchModule, BenchResult } from './lib/result';
import { processCpuTicks, processRssMb } from './lib/env';
import { median, p99, quantile } from './lib/result';

const PREFIX = 'wbm';
const UNDERLAY = `${PREFIX}-u`;
const SUBNET = '192.168.97';
const STATE = `/var/lib/weft-bench-mesh`;
const ROOT = ((): string => {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) if (fs.existsSync(path.join(d, 'scripts', 'lab'))) return d;
  throw new Error('checkout not found');
})();

interface Daemon {
  k: number;
  pid: number;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const bench: BenchModule = {
  name: 'meshDaemons',
  needsLab: true,
  async run(ctx) {
    const out: BenchResult[] = [];
    // WEFT_BENCH_MESH_SIZES=50 (comma-separated) runs only those sizes, for profiling one of them
    const sizes = process.env.WEFT_BENCH_MESH_SIZES?.split(',').map(Number).filter((x) => x >= 2 && x <= 60);
    for (const n of sizes?.length ? sizes : ctx.quick ? [10] : [10, 25, 50]) {
      ctx.log(`meshDaemons: ${n} daemons`);
      try {
        setUp(n);
        // the measuring half runs inside the underlay namespace, where every daemon's status API is reachable
        const child = spawn('ip', ['netns', 'exec', UNDERLAY, process.execPath, __filename, 'inner', String(n), ctx.quick ? 'quick' : 'full'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const chunks: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => chunks.push(c));
        const code = await new Promise<number | null>((r) => child.on('close', r));
        if (code !== 0) throw new Error(`the measuring process exited ${code}`);
        out.push(...(JSON.parse(Buffer.concat(chunks).toString()) as BenchResult[]));
      } finally {
        tearDown(n);
      }
    }
    return out;
  },
};

/** inside the underlay namespace: start n daemons, measure, print the results as JSON */
async function inner(n: number, quick: boolean): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const daemons: Daemon[] = [];
  try {
    for (let k = 1; k <= n; k++) daemons.push(start(k, n));
    // n Node processes starting at once on a small machine: much of this is their start-up CPU. Polled once a second:
    // every status call costs each daemon a JSON of its view, and polling 50 of them every 50 ms slowed the very
    // forming it waited for (50 daemons then missed a 60 s limit they meet in 15–30 s when left alone).
    const formed = await until(`${n} daemons see each other`, 120_000, async () => (await Promise.all(daemons.map((d) => peersAlive(d.k)))).every((a) => a === n - 1), 1000);
    out.push({
      group: 'mesh daemons', name: `${n} peers: all started at once, until each lists every other alive`, value: formed / 1000, unit: 's', better: 'lower',
      note: 'from spawning the daemons (whose start-up CPU is much of it on 2 cores), polled once a second; one seed, the others join it',
    });
    const conv = await convergence(daemons, quick ? 3 : 5);
    out.push({
      group: 'mesh daemons', name: `${n} peers: new endpoint known everywhere, p50`, value: quantile(conv, 0.5), unit: 'ms', better: 'lower', samples: conv,
    });
    out.push({
      group: 'mesh daemons', name: `${n} peers: new endpoint known everywhere, p99`, value: p99(conv), unit: 'ms', better: 'lower',
      ...(n === 50 ? { target: { op: '<=' as const, value: 1000, unit: 'ms', text: '≤ 1 s (Serf: ~1.5 s for 100 nodes)' } } : {}),
      note: 'from when daemon 1 lists the endpoint (as it publishes it) until each other daemon does, by their own knownSince stamps; the CreateEndpoint call before it is not counted',
    });
    const idle = await idleFigures(daemons);
    out.push({ group: 'mesh daemons', name: `${n} peers: idle mesh traffic per peer`, value: idle.bytesPerSec / 1024, unit: 'KiB/s', better: 'lower' });
    out.push({
      group: 'footprint', name: `daemon RSS at rest (${n}-peer mesh)`, value: idle.rssMb, unit: 'MB', better: 'lower',
      target: { op: '<=', value: 100, unit: 'MB', text: '≤ 100 MB idle' },
    });
    out.push({ group: 'footprint', name: `daemon CPU at rest (${n}-peer mesh)`, value: idle.cpuPct, unit: '% of a core', better: 'lower' });
    const dead = await failureDetection(daemons);
    out.push({
      group: 'mesh daemons', name: `${n} peers: killed daemon marked dead everywhere`, value: dead, unit: 'ms', better: 'lower',
      target: { op: '<=', value: 3000, unit: 'ms', text: '≤ 3 s (memberlist LAN: ~4–10 s)' }, note: 'the last daemon to mark it dead',
    });
  } finally {
    for (const d of daemons) stopPid(d.pid);
  }
  return out;
}

if (require.main === module && process.argv[2] === 'inner') {
  inner(Number(process.argv[3]), process.argv[4] === 'quick').then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

export function setUp(n: number): void {
  tearDown(n);
  ip('netns', 'add', UNDERLAY);
  // a fixed MAC: a bridge otherwise takes its lowest port's, which changes as ports join and would stale the pinned neighbours
  ip('-n', UNDERLAY, 'link', 'add', 'br0', 'address', '02:77:62:6d:00:fe', 'type', 'bridge');
  ip('-n', UNDERLAY, 'link', 'set', 'br0', 'up');
  ip('-n', UNDERLAY, 'addr', 'add', `${SUBNET}.254/24`, 'dev', 'br0');
  ip('-n', UNDERLAY, 'link', 'set', 'lo', 'up');
  for (let k = 1; k <= n; k++) {
    const ns = `${PREFIX}-${k}`;
    ip('netns', 'add', ns);
    ip('-n', UNDERLAY, 'link', 'add', `u${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', UNDERLAY, 'link', 'set', `u${k}`, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${SUBNET}.${k}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    fs.rmSync(`${STATE}/${k}`, { recursive: true, force: true });
    fs.mkdirSync(`${STATE}/${k}`, { recursive: true });
  }
  pinNeighbours(n);
}

/**
 * The kernel's ARP table is one for all namespaces (gc_thresh3 = 1024 entries by
 * default): 50 daemons that each talk to 49 others overflow it, entries are
 * evicted as fast as they are made, and the mesh drowns in ARP. Permanent
 * entries are not counted against that limit, so every namespace gets its
 * neighbours pinned, leaving the machine-wide sysctls alone.
 */
function pinNeighbours(n: number): void {
  const macOf = (ns: string, dev: string) => (JSON.parse(ip('-j', '-n', ns, 'link', 'show', dev)) as Array<{ address: string }>)[0].address;
  const hosts = new Map<string, { ns: string; dev: string; mac: string }>();
  hosts.set(`${SUBNET}.254`, { ns: UNDERLAY, dev: 'br0', mac: macOf(UNDERLAY, 'br0') });
  for (let k = 1; k <= n; k++) hosts.set(`${SUBNET}.${k}`, { ns: `${PREFIX}-${k}`, dev: 'eth0', mac: macOf(`${PREFIX}-${k}`, 'eth0') });
  for (const [self, h] of hosts) {
    const batch = [...hosts].filter(([a]) => a !== self).map(([a, o]) => `neigh replace ${a} lladdr ${o.mac} dev ${h.dev} nud permanent`).join('\n');
    execFileSync('ip', ['-n', h.ns, '-batch', '-'], { input: `${batch}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  }
}

export function tearDown(n: number): void {
  // daemons first (by the pids this module recorded), then namespaces
  for (let k = 1; k <= Math.max(n, 60); k++) {
    const pidFile = `${STATE}/${k}/weft.pid`;
    if (fs.existsSync(pidFile)) stopPid(Number(fs.readFileSync(pidFile, 'utf8')));
  }
  const have = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]);
  for (const ns of have) if (ns === UNDERLAY || new RegExp(`^${PREFIX}-\\d+$`).test(ns)) ip('netns', 'del', ns);
  fs.rmSync(STATE, { recursive: true, force: true });
}

function stopPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export function start(k: number, n: number): Daemon {
  const dir = `${STATE}/${k}`;
  const args = [
    'netns', 'exec', `${PREFIX}-${k}`, path.join(ROOT, 'bin', 'weft'), 'launch', '--foreground',
    '--name', `wbm${k}`, '--state-dir', dir, '--pid-file', `${dir}/weft.pid`, '--status-addr', `${SUBNET}.${k}:6784`, '--nickname', `p${k}`,
    // no bridges here; a pin made in `ip netns exec`'s private mount namespace would only leave its empty file in /run/netns
    '--no-default-network', '--log-level', 'warn', '--bridges-netns', 'host',
    ...(k === 1 ? [] : [`${SUBNET}.1`]),
  ];
  const log = fs.openSync(`${dir}/out.log`, 'a');
  const child = spawn('ip', args, { stdio: ['ignore', log, log], detached: true, env: { ...process.env, DOCKER_HOST: `unix://${dir}/no-docker.sock` } });
  fs.closeSync(log);
  child.unref();
  void n;
  return { k, pid: child.pid! };
}

type StatusView = { mesh: { peers: Array<{ nickname: string; state: string; deadSince?: number }>; traffic: { bytesOut: number } }; cluster: { endpoints: Array<{ id: string; knownSince?: number }> } };

/** GET on a daemon's status API, which listens on its underlay address (this process runs in the underlay namespace) */
function status(k: number): Promise<StatusView | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: `${SUBNET}.${k}`, port: 6784, path: '/status', timeout: 2000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(Buffer.concat(chunks).toString()) as StatusView) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

async function peersAlive(k: number): Promise<number> {
  return (await status(k))?.mesh.peers.filter((p) => p.state === 'alive').length ?? 0;
}

async function until(what: string, ms: number, check: () => Promise<boolean>, every = 50): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(every);
  }
}

/** a plugin call on daemon k's socket (the sockets share the root's mount namespace) */
function plugin(k: number, method: string, body: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request({ socketPath: `/run/docker/plugins/wbm${k}.sock`, method: 'POST', path: `/${method}`, headers: { 'Content-Length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const j = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        if (j.Err || j.Error) reject(new Error(`${method}: ${String(j.Err || j.Error)}`));
        else resolve(j);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * per endpoint made on daemon 1: ms from when daemon 1 lists it until each other daemon does; all samples.
 * Both ends are the daemons' own stamps (knownSince, one machine's clock). The origin is daemon 1's stamp, made as it
 * publishes the endpoint to the mesh, not the moment the bench sends CreateEndpoint: the plugin call's own time is the
 * plugin bench's figure, and here it was one endpoint's 49 samples at once (the first endpoint, made while the new
 * network's spare veth pairs were still being made, waited for a veth of its own: up to 0.77 s under load), which set the p99.
 */
async function convergence(daemons: Daemon[], endpoints: number): Promise<number[]> {
  const netId = 'b'.repeat(64);
  const pool = (await plugin(1, 'IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.32.0.0/16', SubPool: '', Options: {}, V6: false })) as { PoolID: string };
  const gw = (await plugin(1, 'IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } })) as { Address: string };
  await plugin(1, 'NetworkDriver.CreateNetwork', { NetworkID: netId, Options: {}, IPv4Data: [{ AddressSpace: 'local', Pool: '10.32.0.0/16', Gateway: gw.Address }], IPv6Data: [] });
  const samples: number[] = [];
  for (let i = 0; i < endpoints; i++) {
    const addr = (await plugin(1, 'IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': `02:42:0a:99:00:${(i + 16).toString(16)}` } })) as { Address: string };
    const id = `${i}`.padStart(2, '0').repeat(32);
    const t0 = Date.now();
    await plugin(1, 'NetworkDriver.CreateEndpoint', { NetworkID: netId, EndpointID: id, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: `02:42:0a:99:00:${(i + 16).toString(16)}` }, Options: {} });
    // each daemon stamps when it first heard of an endpoint (knownSince, its clock, which is this machine's):
    // polling slowly for that stamp keeps the measuring from loading the daemons it measures
    const pending = new Set(daemons.map((d) => d.k));
    const known = new Map<number, number>();
    while (pending.size > 0 && Date.now() - t0 < 30_000) {
      await sleep(250);
      await Promise.all([...pending].map(async (k) => {
        const at = (await status(k))?.cluster.endpoints.find((e) => e.id === id)?.knownSince;
        if (at !== undefined) {
          known.set(k, at);
          pending.delete(k);
        }
      }));
    }
    const origin = known.get(1) ?? t0;
    for (const d of daemons) {
      const at = known.get(d.k);
      if (d.k !== 1) samples.push(at === undefined ? 30_000 : Math.max(0, at - origin));
    }
  }
  return samples;
}

async function idleFigures(daemons: Daemon[]): Promise<{ bytesPerSec: number; rssMb: number; cpuPct: number }> {
  const pids = daemons.map((d) => Number(fs.readFileSync(`${STATE}/${d.k}/weft.pid`, 'utf8')));
  const bytes = async () => (await Promise.all(daemons.map((d) => status(d.k)))).reduce((a, s) => a + (s?.mesh.traffic.bytesOut ?? 0), 0);
  const cpu = () => pids.reduce((a, p) => a + processCpuTicks(p), 0);
  const b0 = await bytes();
  const c0 = cpu();
  const t0 = Date.now();
  await sleep(10_000);
  const secs = (Date.now() - t0) / 1000;
  const c1 = cpu();
  const b1 = await bytes();
  const rss = pids.map(processRssMb);
  return { bytesPerSec: (b1 - b0) / secs / daemons.length, rssMb: median(rss), cpuPct: ((c1 - c0) / 100 / secs / daemons.length) * 100 };
}

/**
 * kill -9 the last daemon; ms until the last of the others marks it dead. Each
 * daemon reports when it did (deadSince, its clock, which is this machine's), so
 * a slow poll reads it without loading the daemons it measures.
 */
async function failureDetection(daemons: Daemon[]): Promise<number> {
  const victim = daemons[daemons.length - 1];
  const pid = Number(fs.readFileSync(`${STATE}/${victim.k}/weft.pid`, 'utf8'));
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  const others = daemons.filter((d) => d !== victim);
  const deadAt = new Map<number, number>();
  await until('dead everywhere', 30_000, async () => {
    await sleep(250);
    await Promise.all(others.filter((d) => !deadAt.has(d.k)).map(async (d) => {
      const p = (await status(d.k))?.mesh.peers.find((x) => x.nickname === `p${victim.k}`);
      if (p?.state === 'dead' && p.deadSince !== undefined) deadAt.set(d.k, p.deadSince);
    }));
    return deadAt.size === others.length;
  });
  return Math.max(...deadAt.values()) - t0;
}
