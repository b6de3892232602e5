/** A typed wrapper over scripts/lab for end-to-end tests. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const LAB = path.join(ROOT, 'scripts', 'lab');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], timeoutMs: number): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function lab(args: string[], timeoutMs = 300_000): Promise<Result> {
  return exec(LAB, args, timeoutMs);
}

async function labOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await lab(args, timeoutMs);
  if (r.code !== 0) throw new Error(`scripts/lab ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function labUp(n: number): Promise<void> {
  await labOk(['up', String(n)], 600_000);
}

export async function labDown(): Promise<void> {
  await labOk(['down'], 300_000);
}

/** runs a command in a lab host; a string goes through bash -c; never throws */
export function sh(host: string, cmd: string | string[], timeoutMs = 120_000): Promise<Result> {
  return lab(['sh', host, ...(typeof cmd === 'string' ? ['bash', '-c', cmd] : cmd)], timeoutMs);
}

export async function shOk(host: string, cmd: string | string[], timeoutMs?: number): Promise<string> {
  const r = await sh(host, cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`in ${host}: ${Array.isArray(cmd) ? cmd.join(' ') : cmd} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Debian's docker 20.10 client in a host; returns stdout, throws with stderr on failure */
export async function docker(host: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await sh(host, ['/usr/bin/docker', ...args], timeoutMs);
  if (r.code !== 0) throw new Error(`in ${host}: docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function hostIp(host: string): Promise<string> {
  return (await labOk(['ip', host])).trim();
}

export async function restartDockerd(host: string): Promise<void> {
  await labOk(['restart-dockerd', host], 300_000);
}

export async function cut(host: string): Promise<void> {
  await labOk(['cut', host]);
}

export async function heal(host: string): Promise<void> {
  await labOk(['heal', host]);
}
