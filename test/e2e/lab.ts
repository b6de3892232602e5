/**
 * A typed wrapper over scripts/lab for end-to-end tests: lab hosts h1..h9, each a
 * network + mount namespace with its own dockerd 20.10 (see scripts/lab help).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** the checkout: the nearest directory up from here with scripts/lab (this file also runs compiled, for the benchmarks) */
export const ROOT = ((): string => {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) if (fs.existsSync(path.join(d, 'scripts', 'lab'))) return d;
  throw new Error(`scripts/lab not found above ${__dirname}`);
})();
export const LAB = path.join(ROOT, 'scripts', 'lab');
/** Debian's client, matching the lab's dockerd (the one first on the machine's PATH is newer) */
export const DOCKER = '/usr/bin/docker';

export interface Result {
  /** exit code; 124 when the timeout killed the command, 128+n when signal n ended it */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ShOptions {
  /** default 120 s */
  timeoutMs?: number;
  /** written to the command's stdin (otherwise stdin is empty) */
  input?: string | Buffer;
  /** extra environment for the command (PATH is the lab's: /usr/bin first) */
  env?: Record<string, string>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function run(args: string[], timeoutMs: number, input?: string | Buffer): Promise<Result> {
  return new Promise((resolve) => {
    // scripts/lab sh execs the command itself under nsenter, so killing this child on
    // timeout stops the command in the host too
    const child = spawn(LAB, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => undefined); // the command may not read its stdin
    child.stdin.end(input ?? '');
    const finish = (code: number, extra = ''): void => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + extra });
    };
    child.on('error', (e) => finish(127, `\n${e.message}`));
    child.on('close', (code, signal) => {
      if (timedOut) finish(124, `\nscripts/lab ${args.join(' ')}: timed out after ${timeoutMs} ms`);
      else if (code !== null) finish(code);
      else finish(128 + (SIGNALS[signal ?? ''] ?? 0), `\nscripts/lab ${args.join(' ')}: ended by ${signal}`);
    });
  });
}

async function labOk(args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await run(args, timeoutMs);
  if (r.code !== 0) throw new Error(`scripts/lab ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** hosts h1..hN up with dockerd answering and images lab/busybox, lab/iperf3; idempotent */
export async function labUp(n: number): Promise<void> {
  await labOk(['up', String(n)], 600_000);
}

/** stops and removes everything of the lab (also a half-built or absent one) */
export async function labDown(): Promise<void> {
  await labOk(['down'], 300_000);
}

function toArgs(cmd: string | string[], env?: Record<string, string>): string[] {
  const argv = typeof cmd === 'string' ? ['bash', '-c', cmd] : cmd;
  if (!env || Object.keys(env).length === 0) return argv;
  return ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
}

function shOpts(opts?: ShOptions | number): ShOptions {
  return typeof opts === 'number' ? { timeoutMs: opts } : (opts ?? {});
}

/**
 * Runs a command in a lab host (net + mount namespaces, cwd = repository root).
 * A string goes through `bash -c`; an array is the argv. Never throws.
 */
export function sh(host: string, cmd: string | string[], opts?: ShOptions | number): Promise<Result> {
  const o = shOpts(opts);
  return run(['sh', host, ...toArgs(cmd, o.env)], o.timeoutMs ?? 120_000, o.input);
}

/** like sh, but throws (with stdout and stderr) on a non-zero exit; returns stdout */
export async function shOk(host: string, cmd: string | string[], opts?: ShOptions | number): Promise<string> {
  const r = await sh(host, cmd, opts);
  if (r.code !== 0) {
    const what = Array.isArray(cmd) ? cmd.join(' ') : cmd;
    throw new Error(`in ${host}: ${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

/** Debian's docker 20.10 client in a host; returns stdout, throws with stderr on failure */
export async function docker(host: string, args: string[], opts?: ShOptions | number): Promise<string> {
  const r = await sh(host, [DOCKER, ...args], opts);
  if (r.code !== 0) throw new Error(`in ${host}: docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** where `weft launch` pins the namespace of its bridges and their ports (--bridges-netns) */
export const BRIDGES_NETNS = '/run/netns/weft';

/** a shell command line run in that namespace */
export function inBridges(cmd: string): string {
  return `nsenter --net=${BRIDGES_NETNS} ${cmd}`;
}

/** device names in a host: its own namespace's, the bridges' (none before weft made it), or both */
export async function linkNames(host: string, where: 'host' | 'bridges' | 'both' = 'both'): Promise<string[]> {
  const parts = [
    ...(where !== 'bridges' ? ['ip -o link show'] : []),
    ...(where !== 'host' ? [`if [ -e ${BRIDGES_NETNS} ]; then ${inBridges('ip -o link show')}; fi`] : []),
  ];
  const out = await shOk(host, parts.join('; '));
  return out.split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).filter((n): n is string => !!n);
}

/** the host's underlay address, 192.168.91.K for hK */
export async function hostIp(host: string): Promise<string> {
  return (await labOk(['ip', host])).trim();
}

/** stops the host's dockerd (its containers stop with it) and starts it again, until it answers */
export async function restartDockerd(host: string): Promise<void> {
  await labOk(['restart-dockerd', host], 300_000);
}

/** takes the host's underlay link down */
export async function cut(host: string): Promise<void> {
  await labOk(['cut', host]);
}

/** brings the host's underlay link back up */
export async function heal(host: string): Promise<void> {
  await labOk(['heal', host]);
}

/** starts a long-running command in the host (log in $WEFT_LAB_DIR/HOST/NAME.log); returns its pid */
export async function bg(host: string, name: string, cmd: string[]): Promise<number> {
  return Number((await labOk(['bg', host, name, ...cmd])).trim());
}

/** stops what bg started (TERM, then KILL), or only sends the given signal */
export async function bgKill(host: string, name: string, signal?: string): Promise<void> {
  await labOk(['kill', host, name, ...(signal ? [signal] : [])]);
}

/** the output of scripts/lab status */
export async function labStatus(): Promise<string> {
  return labOk(['status']);
}

/** a host with no containers, no weft networks, no weft daemon and no weft state */
export async function resetWeft(host: string): Promise<void> {
  // networks go while weft still answers (without the plugin dockerd retries each removal for seconds)
  const rmNets = 'for n in $(/usr/bin/docker network ls -q -f driver=weft); do /usr/bin/docker network rm $n >/dev/null; done';
  await sh(host, `/usr/bin/docker rm -f $(/usr/bin/docker ps -aq) 2>/dev/null; ${rmNets}; bin/weft stop; ${rmNets}; rm -rf /var/lib/weft/*; true`);
}

/** the last lines of weft's log on a host, for failure messages */
export async function weftLog(host: string, lines = 30): Promise<string> {
  return (await sh(host, `tail -n ${lines} /var/lib/weft/weft.log`)).stdout;
}

/** polls check every 200 ms; the time it took, or an error after ms */
export async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** drops underlay traffic between two hosts (only UDP to `udpPort` if given), with iptables in the first */
export async function block(a: string, b: string, udpPort?: number): Promise<void> {
  await labOk(['block', a, b, ...(udpPort !== undefined ? [String(udpPort)] : [])]);
}

/** undoes every block between the two hosts */
export async function unblock(a: string, b: string): Promise<void> {
  await labOk(['unblock', a, b]);
}

/** records the whole underlay into a pcap file until captureStop */
export async function captureStart(file: string): Promise<void> {
  await labOk(['capture', 'start', file]);
}

export async function captureStop(): Promise<void> {
  await labOk(['capture', 'stop']);
}

/**
 * Moves a container (already running on `from` with the same run arguments)
 * to `to` and times, from `probe`, the first reply from `ip` after the start.
 */
export async function timedMove(from: string, to: string, probe: string, ip: string, runArgs: string[]): Promise<{ moveMs: number; runMs: number; line: string }> {
  const r = await new Promise<Result>((resolve) => {
    const child = spawn(path.join(ROOT, 'scripts', 'lab.d', 'timed-move'), [from, to, probe, ip, '--', ...runArgs], { cwd: ROOT });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
  const m = /move_ms=(\d+) run_ms=(-?\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`timed-move exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return { moveMs: Number(m[1]), runMs: Number(m[2]), line: r.stdout.split('\n')[0] };
}
