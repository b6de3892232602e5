/**
 * IPAM in process: how fast addresses are handed out when a pool is filled, at
 * each layer weft stacks for an endpoint's address, and what a filled pool
 * costs in memory.
 *
 * Layers, bottom up:
 * - bitmap: AddressSpace.allocate, the next-fit bitmap alone;
 * - pool: Pool.allocate, the bitmap plus the holder of each address (what Ipam keeps in memory);
 * - Ipam: Ipam.requestAddress as the plugin's RequestAddress calls it (cluster mode, one
 *   peer owning the whole ring, as the first peer of a cluster), over
 *   (a) MemoryStore, the in-memory twin (Ipam's own cost),
 *   (b) SqliteStore, the daemon's store (WAL, synchronous=NORMAL).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Cidr, formatCidr, parseCidr, usable } from '../../src/addr/cidr';
import { AddressSpace } from '../../src/ipam/addressSpace';
import { Ipam, type IpamCollections } from '../../src/ipam/ipam';
import { Ownership, type OwnershipCollections } from '../../src/ipam/ownership';
import { Pool } from '../../src/ipam/pool';
import { SpaceBroker } from '../../src/ipam/spaceBroker';
import { macForIp } from '../../src/network/names';
import { MemoryStore } from '../../src/store/memory';
import { SqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/types';
import { FakeScheduler } from '../../src/util/scheduler';
import { filesystemOf, memoryNow, MiB } from './lib/env';
import { type BenchContext, type BenchModule, type BenchResult, formatNumber, median, msSince, round, target } from './lib/result';

const GROUP = 'ipam';
const MEM_GROUP = 'ipam memory';
const RANGE = parseCidr('10.32.0.0/12');
const SLASH16 = parseCidr('10.32.0.0/16');
const ALLOC_TARGET = { ...target('>=', 1_000_000, 'allocs/s'), text: '≥ 1 M allocs/s' };
const MAC = '02:42:0a:20:00:01';
const SELF = '00000000000000aa';

export const bench: BenchModule = { name: 'ipam', needsLab: false, run };

async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // the big pool: the default range in full, a /14 in a quick pass
  const big = ctx.quick ? parseCidr('10.32.0.0/14') : RANGE;
  const sizes = [SLASH16, big];

  // memory first, on a fresh heap (RSS only grows once the heap has grown); listed last
  const memory = sizes.flatMap((c) => memoryOfFilledPool(c, ctx));

  warmUp();
  for (const c of sizes) {
    const reps = c.prefix >= 16 ? (ctx.quick ? 5 : 9) : ctx.quick ? 3 : 5;
    const bitmap = rates(reps, () => fillBitmap(c));
    ctx.log(`bitmap ${formatCidr(c)}: ${bitmap.map((r) => formatNumber(r)).join(', ')} allocs/s`);
    out.push({
      group: GROUP, name: `bitmap (AddressSpace.allocate), fill ${label(c)}`, value: median(bitmap), unit: 'allocs/s', better: 'higher', target: ALLOC_TARGET,
      samples: bitmap.map((r) => round(r)),
      note: `the next-fit bitmap alone, ${formatNumber(usableCount(c))} addresses from empty to full; median of ${reps} fills`,
    });
    const pool = rates(reps, () => fillPool(c));
    ctx.log(`pool ${formatCidr(c)}: ${pool.map((r) => formatNumber(r)).join(', ')} allocs/s`);
    out.push({
      group: GROUP, name: `Pool.allocate, fill ${label(c)}`, value: median(pool), unit: 'allocs/s', better: 'higher', target: ALLOC_TARGET,
      samples: pool.map((r) => round(r)),
      note: `the allocator Ipam calls for an endpoint (bitmap + the holder record of each address), ${formatNumber(usableCount(c))} addresses; median of ${reps} fills`,
    });
  }

  // Ipam.requestAddress, as the plugin's RequestAddress calls it, over two stores
  const mem = await fillIpam(new MemoryStore<IpamCollections & OwnershipCollections>(), SLASH16, usableCount(SLASH16));
  ctx.log(`Ipam over MemoryStore, /16: ${formatNumber(mem.rate)} allocs/s`);
  out.push({
    group: GROUP, name: 'Ipam.requestAddress + MemoryStore, fill /16', value: mem.rate, unit: 'allocs/s', better: 'higher',
    samples: mem.chunks,
    note: `Ipam's own cost per endpoint address (cluster mode, one peer owning the ring), over the in-memory store (JSON records, an undo log per transaction); samples: allocs/s per ${mem.chunk}`,
  });

  // a commit per address: a sample of the /16 (the rate hardly depends on how full the pool is)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-ipam-'));
  try {
    const sqlite = new SqliteStore<IpamCollections & OwnershipCollections>(path.join(dir, 'weft.db'));
    const count = ctx.quick ? 1024 : 4096;
    const t0 = process.hrtime.bigint();
    const r = await fillIpam(sqlite, SLASH16, count, (n) => ctx.log(`Ipam over SQLite: ${formatNumber(n)} of ${formatNumber(count)} after ${(msSince(t0) / 1000).toFixed(1)} s`));
    sqlite.close();
    const dbBytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    ctx.log(`Ipam over SQLite: ${formatNumber(r.rate)} allocs/s (${(r.ms / 1000).toFixed(1)} s)`);
    out.push({
      group: GROUP, name: `Ipam.requestAddress + SqliteStore, ${formatNumber(count)} of /16`,
      value: r.rate, unit: 'allocs/s', better: 'higher',
      samples: r.chunks,
      note: `the daemon's store: one transaction per address (WAL, synchronous=NORMAL: a commit is not an fsync, a checkpoint is) on ${filesystemOf(dir)}; ` +
        `${formatNumber(count)} addresses in ${(r.ms / 1000).toFixed(1)} s (database ${formatNumber(dbBytes / MiB)} MiB), so a whole /16 would take about ${formatNumber(usableCount(SLASH16) / r.rate)} s; ` +
        `samples: allocs/s per ${r.chunk}`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [...out, ...memory];
}

function label(c: Cidr): string {
  return `/${c.prefix}`;
}

function usableCount(c: Cidr): number {
  const u = usable(c);
  return u.hi - u.lo + 1;
}

/** JIT warm-up: each layer fills a /18 a few times before anything is timed */
function warmUp(): void {
  const c = parseCidr('10.99.0.0/18');
  for (let i = 0; i < 3; i++) {
    fillBitmap(c);
    fillPool(c);
  }
}

/** allocations per second of reps runs of fill (which returns [allocations, ms]) */
function rates(reps: number, fill: () => [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const [n, ms] = fill();
    out.push(n / (ms / 1000));
  }
  return out;
}

function fillBitmap(c: Cidr): [number, number] {
  const u = usable(c);
  const space = new AddressSpace(u.lo, u.hi);
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (space.allocate() !== undefined) n++;
  const ms = msSince(t0);
  if (n !== space.capacity) throw new Error(`bitmap filled ${n} of ${space.capacity}`);
  return [n, ms];
}

function fillPool(c: Cidr): [number, number] {
  const pool = new Pool(c, undefined);
  const n = pool.size;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) pool.allocate('endpoint', 1_700_000_000_000, MAC);
  const ms = msSince(t0);
  if (pool.used !== n) throw new Error(`pool filled ${pool.used} of ${n}`);
  return [n, ms];
}

/**
 * heap and RSS growth of one filled Pool, the in-memory state Ipam keeps per
 * subnet (every holder with its own MAC string, as with real endpoints)
 */
function memoryOfFilledPool(c: Cidr, ctx: BenchContext): BenchResult[] {
  const before = memoryNow();
  const pool = new Pool(c, undefined);
  const n = pool.size;
  for (let i = 0; i < n; i++) {
    const ip = usable(c).lo + i;
    pool.allocate('endpoint', 1_700_000_000_000 + i, macForIp(ip));
  }
  const after = memoryNow();
  const heap = after.heapUsed + after.external - (before.heapUsed + before.external);
  const rss = after.rss - before.rss;
  if (pool.used !== n) throw new Error('pool not filled');
  ctx.log(`memory ${formatCidr(c)}: heap +${formatNumber(heap / MiB)} MiB, RSS +${formatNumber(rss / MiB)} MiB`);
  const what = `a filled ${label(c)} Pool (${formatNumber(n)} addresses, each holder with its own MAC string), after a full GC`;
  return [
    {
      group: MEM_GROUP, name: `filled ${label(c)} pool, heap`, value: heap / MiB, unit: 'MiB', better: 'lower',
      note: `heap + external growth for ${what}: ${formatNumber(heap / n)} bytes per address`,
    },
    {
      group: MEM_GROUP, name: `filled ${label(c)} pool, RSS`, value: rss / MiB, unit: 'MiB', better: 'lower',
      note: `resident set growth for ${what}; measured first, on a fresh heap, but V8 may reserve more than it uses`,
    },
  ];
}

/**
 * count endpoint addresses through Ipam.requestAddress (cluster mode: one peer
 * that claimed the whole ring, as the first peer of a cluster; a MAC per request,
 * as Docker sends), timed as a whole and per chunk
 */
async function fillIpam(
  store: Store<IpamCollections & OwnershipCollections>, subnet: Cidr, count: number, progress?: (n: number) => void,
): Promise<{ rate: number; ms: number; chunks: number[]; chunk: number }> {
  const clock = new FakeScheduler();
  const ownership = new Ownership(SELF, store, () => clock.now());
  ownership.claimAll();
  let ipam: Ipam | undefined;
  const broker = new SpaceBroker({
    ownership,
    rpc: { request: () => Promise.reject(new Error('no peers')), on: () => undefined },
    livePeers: () => [],
    isFree: (ip) => ipam!.isFree(ip),
    nickname: (p) => p,
  });
  ipam = new Ipam(store, clock, { range: RANGE, defaultSubnet: SLASH16 }, () => undefined, { ownership, broker, remembered: () => undefined });
  const { poolId } = ipam.requestPool({ pool: formatCidr(subnet), subPool: '', v6: false });
  const chunk = count <= 8192 ? Math.max(128, count / 8) : 4096;
  const chunks: number[] = [];
  const t0 = process.hrtime.bigint();
  let tc = t0;
  for (let i = 1; i <= count; i++) {
    await ipam.requestAddress({ poolId, address: '', gateway: false, mac: MAC });
    if (i % chunk === 0 || i === count) {
      const now = process.hrtime.bigint();
      const n = i % chunk === 0 ? chunk : i % chunk;
      chunks.push(round(n / (Number(now - tc) / 1e9)));
      tc = now;
      if (progress && i % (chunk * 2) === 0) progress(i);
    }
  }
  const ms = msSince(t0);
  return { rate: count / (ms / 1000), ms, chunks, chunk };
}

