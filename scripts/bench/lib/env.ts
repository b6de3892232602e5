/** Where things are and what the process may do: the repo root, root or not, garbage collection on demand. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** the directory holding weft's package.json, found upwards from this file (works from dist-bench/ and from sources) */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'weft') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no weft package.json above ${from}`);
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;

let gcFn: (() => void) | undefined;
/** a full garbage collection: global.gc under --expose-gc, else the same function obtained through V8's flags */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export interface MemorySnapshot {
  heapUsed: number;
  external: number;
  rss: number;
}

/** memory after a full collection (bytes) */
export function memoryNow(): MemorySnapshot {
  forceGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

export const MiB = 2 ** 20;

/** user + system CPU of a process so far, in clock ticks (USER_HZ, 100 on Linux) */
export function processCpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** a process's resident set, MB (VmRSS) */
export function processRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** "disk (ext4)" or "tmpfs": what a directory's fsync costs depends on it */
export function filesystemOf(dir: string): string {
  try {
    const t = fs.statfsSync(dir).type;
    const names: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs', 0x6969: 'nfs' };
    const name = names[t] ?? `fs type 0x${t.toString(16)}`;
    return name === 'tmpfs' ? 'tmpfs (memory: fsync is free)' : `${name} on disk`;
  } catch {
    return 'unknown filesystem';
  }
}

/** median time (ms) of a small write + fsync in dir: what each SQLite commit (synchronous=FULL) pays at least */
export function fsyncMs(dir: string, n = 30): number {
  const file = path.join(dir, `.fsync-probe-${process.pid}`);
  const fd = fs.openSync(file, 'w');
  const times: number[] = [];
  try {
    const buf = Buffer.alloc(4096, 1);
    for (let i = 0; i < n; i++) {
      fs.writeSync(fd, buf, 0, buf.length, 0);
      const t0 = process.hrtime.bigint();
      fs.fsyncSync(fd);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface Spent {
  ms: number;
  calls: number;
  /** the same, per method */
  methods?: Record<string, { ms: number; calls: number }>;
}

/**
 * The same object, with the time spent in its methods added to `spent` (async
 * methods until they settle), for breaking a call down by layer. A synchronous
 * call made during another (a put inside a transaction) counts as part of it.
 */
export function timed<T extends object>(obj: T, spent: Spent): T {
  let depth = 0;
  return new Proxy(obj, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const outer = depth === 0;
        const t0 = process.hrtime.bigint();
        const add = () => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          spent.ms += ms;
          spent.calls++;
          const m = ((spent.methods ??= {})[String(prop)] ??= { ms: 0, calls: 0 });
          m.ms += ms;
          m.calls++;
        };
        let r: unknown;
        depth++;
        try {
          r = (v as (...a: unknown[]) => unknown).apply(target, args);
        } catch (e) {
          if (outer) add();
          throw e;
        } finally {
          depth--;
        }
        if (r instanceof Promise) return outer ? r.finally(add) : r;
        if (outer) add();
        return r;
      };
    },
  });
}
