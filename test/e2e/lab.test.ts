/**
 * The lab itself (scripts/lab, test/e2e/lab.ts): two hosts with their own dockerd,
 * reachable over the underlay, containers on the default bridge, a dockerd restart,
 * and a `down` that leaves no namespace and no process behind.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bg, docker, hostIp, labDown, labStatus, labUp, restartDockerd, ROOT, sh, shOk } from './lab';

const HOSTS = ['h1', 'h2'];
const LAB_DIR = process.env.WEFT_LAB_DIR ?? '/var/lib/weft-lab';

const readPid = (host: string, name: string): number =>
  Number(fs.readFileSync(path.join(LAB_DIR, host, `${name}.pid`), 'utf8').trim());

/** pid -> start time (field 22 of /proc/PID/stat), so a recycled pid is not taken for ours */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

const labNetns = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('weftlab-'));

beforeAll(async () => {
  await labUp(2);
}, 180_000);

afterAll(async () => {
  await labDown(); // also when a test failed before the `down` test
}, 120_000);

test('each host has its own dockerd 20.10 answering, and the lab images', async () => {
  for (const h of HOSTS) {
    expect((await docker(h, ['info', '--format', '{{.ServerVersion}}'])).trim()).toMatch(/^20\.10\./);
    const images = await docker(h, ['images', '--format', '{{.Repository}}']);
    expect(images).toContain('lab/busybox');
    expect(images).toContain('lab/iperf3');
  }
  // two daemons, not one seen twice: own daemon ID (/etc/docker/key.json) and hostname
  const ids = await Promise.all(HOSTS.map((h) => docker(h, ['info', '--format', '{{.ID}}'])));
  expect(new Set(ids).size).toBe(HOSTS.length);
  for (const h of HOSTS) {
    expect((await docker(h, ['info', '--format', '{{.Name}}'])).trim()).toBe(h);
    expect((await shOk(h, 'hostname')).trim()).toBe(h);
  }
}, 60_000);

test('hosts reach each other over the underlay', async () => {
  expect(await hostIp('h2')).toBe('192.168.91.2');
  // the hosts have no ping of their own; busybox-static's does
  await shOk('h1', ['busybox', 'ping', '-c', '1', '-W', '2', await hostIp('h2')]);
  expect(await shOk('h2', 'ip -4 -o addr show eth0')).toContain('192.168.91.2/24');
}, 30_000);

test('a container on the default bridge reaches its host gateway', async () => {
  const out = await docker('h1', ['run', '--rm', 'lab/busybox', 'ping', '-c', '1', '-W', '2', '172.17.0.1']);
  expect(out).toContain('1 packets received');
  expect((await docker('h1', ['run', '--rm', 'lab/iperf3', 'iperf3', '--version'])).trim()).toMatch(/^iperf 3/);
}, 60_000);

test('sh passes exit code, stdin and cwd through; /usr/bin comes first on PATH', async () => {
  expect((await sh('h1', 'exit 7')).code).toBe(7);
  expect((await sh('h1', ['cat'], { input: 'hello\n' })).stdout).toBe('hello\n');
  expect((await shOk('h1', ['pwd'])).trim()).toBe(ROOT);
  expect((await shOk('h1', 'command -v docker')).trim()).toBe('/usr/bin/docker');
  // /run is the host's own: each host has its own docker socket
  expect((await shOk('h2', 'ls /run/docker.sock')).trim()).toBe('/run/docker.sock');
  await expect(shOk('h1', 'echo out; echo err >&2; exit 3')).rejects.toThrow(/exited 3[\s\S]*out[\s\S]*err/);
}, 30_000);

test('up again is a no-op for hosts already up', async () => {
  const before = HOSTS.map((h) => [readPid(h, 'holder'), readPid(h, 'dockerd')]);
  await labUp(2);
  expect(HOSTS.map((h) => [readPid(h, 'holder'), readPid(h, 'dockerd')])).toEqual(before);
  expect(await labStatus()).toMatch(/h2 .*dockerd answers/);
}, 60_000);

test('restart-dockerd gives a new dockerd that answers', async () => {
  const old = readPid('h1', 'dockerd');
  await restartDockerd('h1');
  expect(readPid('h1', 'dockerd')).not.toBe(old);
  expect(startTime(old)).toBeUndefined();
  expect((await docker('h1', ['info', '--format', '{{.ServerVersion}}'])).trim()).toMatch(/^20\.10\./);
  await docker('h1', ['run', '--rm', 'lab/busybox', 'true']);
}, 120_000);

test('down leaves no lab namespace and no lab process', async () => {
  // a running container and a bg process too, so down has something to stop
  await docker('h2', ['run', '-d', '--name', 'left', 'lab/busybox', 'sleep', '3600']);
  const sleeper = await bg('h2', 'sleeper', ['sleep', '3600']);
  const pids = new Map<number, string>();
  for (const ns of labNetns()) {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const p of out.split('\n').filter(Boolean).map(Number)) pids.set(p, startTime(p) ?? '');
  }
  for (const h of HOSTS) for (const n of ['holder', 'dockerd']) pids.set(readPid(h, n), startTime(readPid(h, n)) ?? '');
  const containerPid = Number((await docker('h2', ['inspect', '-f', '{{.State.Pid}}', 'left'])).trim());
  pids.set(containerPid, startTime(containerPid) ?? '');
  pids.set(sleeper, startTime(sleeper) ?? '');
  expect(pids.size).toBeGreaterThanOrEqual(7); // 2 holders, 2 dockerd, 2 containerd, a shim, ...

  await labDown();

  expect(labNetns()).toEqual([]);
  const left = [...pids].filter(([p, t]) => t !== '' && startTime(p) === t).map(([p]) => p);
  expect(left).toEqual([]);
  expect(fs.existsSync(LAB_DIR)).toBe(false);
}, 120_000);
