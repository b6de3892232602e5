/**
 * weft packaged, end to end in a lab host: the real Dockerfile built with `docker
 * build` against stand-in base images (scripts/image: debootstrap'd Debian with this
 * machine's Node.js, an offline npm cache in the context), the image run the
 * documented way (scripts/weft-container) through the one-host checks, then the
 * same image as a Docker managed plugin (scripts/plugin): create, enable, a network
 * with -d weft:latest, containers that reach each other, disable and rm leaving
 * nothing behind.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docker, labDown, labUp, resetWeft, ROOT, sh, shOk } from './lab';

const H = 'h1';
const D = '/usr/bin/docker';
const timings: string[] = [];
let built = false;

/** a command on the root host (scripts/image reaches the lab itself; the lab's env is passed on) */
function onHost(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 124, out: Buffer.concat(chunks).toString() });
    });
  });
}

async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** names of every network device in the host */
async function links(): Promise<string[]> {
  const out = await shOk(H, 'ip -o link show');
  return out.split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).filter((n): n is string => !!n);
}
// weft in a container or a plugin keeps its bridges in the host's namespace (--bridges-netns host)
const WEFT_DEVICE = /^(weft-|wfh|wfc|wfv|wft|wfg|wfb|wfprobe$)/;
const weftDevices = async () => (await links()).filter((l) => WEFT_DEVICE.test(l));

/** weft daemons in the host's network namespace (the pid namespace is the machine's) */
async function weftProcesses(): Promise<string[]> {
  const out = await shOk(H, `me=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] && tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q 'launch[ ]--foreground' && echo "\${p#/proc/}"; done; true`);
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function ipOf(name: string): Promise<string> {
  const out = await docker(H, ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name]);
  return out.trim().split(/\s+/)[0];
}

async function runOn(name: string, net: string, extra: string[] = []): Promise<string> {
  await docker(H, ['run', '-d', '--name', name, '--net', net, ...extra, 'lab/busybox', 'sleep', '3600']);
  return ipOf(name);
}

async function pings(from: string, ip: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    if ((await sh(H, [D, 'exec', from, 'ping', '-c', '1', '-W', '2', ip])).code === 0) return true;
  }
  return false;
}

/** leftovers of an earlier run: containers, weft's networks, the weft container, the plugin, weft itself */
async function cleanup(): Promise<void> {
  const rmNets = `for n in $(${D} network ls -q -f driver=weft) $(${D} network ls -q -f driver=weft:latest); do ${D} network rm $n >/dev/null 2>&1; done`;
  await sh(H, `${D} rm -f $(${D} ps -aq) >/dev/null 2>&1; ${rmNets}; true`, 180_000);
  await sh(H, 'scripts/weft-container stop >/dev/null 2>&1; true', 60_000);
  await sh(H, `${D} plugin disable -f weft >/dev/null 2>&1; ${D} plugin rm -f weft >/dev/null 2>&1; true`, 120_000);
  await resetWeft(H);
  // devices a crashed run left (weft's own start would remove them; the checks below must not see them)
  await sh(H, "for d in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(weft-|wfh|wfc|wfv|wft|wfg|wfb|wfprobe$)'); do ip link del \"$d\" 2>/dev/null; done; true");
}

beforeAll(async () => {
  await timed('lab up', () => labUp(1));
  await cleanup();
}, 900_000);

afterAll(async () => {
  await cleanup().catch(() => undefined);
  await labDown();
  process.stderr.write(`package.test timings: ${timings.join('; ')}\n`);
}, 600_000);

test('the Dockerfile builds in a lab host against the stand-in bases, offline; the image runs weft as root with iptables', async () => {
  // first run: debootstrap of both bases, the npm cache, node-gyp; later: load and build
  const r = await timed('scripts/image build', () => onHost(['scripts/image', 'build', H], 1_800_000));
  if (r.code !== 0) throw new Error(`scripts/image build exited ${r.code}:\n${r.out.slice(-4000)}`);
  // the lab host reaches no registry: npm ci ran against the context's .npm-offline, now
  // or in the build whose layers this one reuses (scripts/image keeps Docker's build cache)
  expect(r.out).toMatch(/npm: offline|npm ci --no-audit --no-fund "\$@"\n ---> Using cache/);
  expect((await docker(H, ['image', 'inspect', '-f', '{{.Config.User}} {{json .Config.Entrypoint}}', 'weft'])).trim())
    .toBe('root ["/usr/local/bin/weft-entrypoint"]');
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect((await docker(H, ['run', '--rm', '--entrypoint', 'weft', 'weft', 'version'])).trim()).toBe(version.version);
  expect(await docker(H, ['run', '--rm', '--entrypoint', 'iptables', 'weft', '--version'])).toMatch(/iptables v1\./);
  // the run stage carries no compilers and no dev dependencies
  expect((await sh(H, [D, 'run', '--rm', '--entrypoint', 'sh', 'weft', '-c', 'command -v g++ || ls /app/node_modules/typescript'])).code).not.toBe(0);
  built = true;
}, 1_800_000);

describe('weft in a container, started the documented way', () => {
  beforeAll(async () => {
    if (!built) return;
    const out = await timed('container start', () => shOk(H, 'scripts/weft-container run', 90_000));
    expect(out).toMatch(/weft started in container weft/);
  }, 120_000);

  test('default network weft exists; two containers on it reach each other', async () => {
    expect(built).toBe(true);
    const nets = await docker(H, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(nets.split('\n')).toContain('weft weft');
    const a = await runOn('a1', 'weft');
    const b = await runOn('b1', 'weft');
    expect(a).toMatch(/^10\.(3[2-9]|4[0-7])\./);
    expect(a).not.toBe(b);
    expect(await pings('a1', b)).toBe(true);
    expect(await pings('b1', a)).toBe(true);
    // the daemon runs in the container, answering on the host's loopback
    const st = await shOk(H, [D, 'exec', 'weft', 'weft', 'status']);
    expect(st).toContain(a);
    expect((await sh(H, 'bin/weft status')).stdout).toContain(a);
  }, 120_000);

  test('--subnet network: --ip honoured, a taken --ip refused', async () => {
    expect(built).toBe(true);
    await docker(H, ['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', '--subnet', '10.40.0.0/24', 'n1']);
    expect(await runOn('n1a', 'n1', ['--ip', '10.40.0.50'])).toBe('10.40.0.50');
    const refused = await sh(H, [D, 'run', '--rm', '--net', 'n1', '--ip', '10.40.0.50', 'lab/busybox', 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('weft: address 10.40.0.50 is already in use');
    const other = await runOn('n1b', 'n1');
    expect(other).not.toBe('10.40.0.50');
    expect(await pings('n1b', '10.40.0.50')).toBe(true);
  }, 120_000);

  test('stopped, it leaves no device and no socket behind', async () => {
    expect(built).toBe(true);
    await docker(H, ['rm', '-f', 'a1', 'b1', 'n1a', 'n1b']);
    await docker(H, ['network', 'rm', 'n1', 'weft']);
    await timed('container stop', () => shOk(H, 'scripts/weft-container stop', 60_000));
    expect((await sh(H, [D, 'container', 'inspect', 'weft'])).code).not.toBe(0);
    expect(await weftDevices()).toEqual([]);
    expect((await sh(H, 'test -e /run/docker/plugins/weft.sock')).code).not.toBe(0);
    expect(await shOk(H, 'iptables -S FORWARD')).not.toContain('weft-');
    expect(await shOk(H, 'iptables -t raw -S PREROUTING')).not.toContain('weft-');
  }, 120_000);
});

describe('weft as a managed plugin', () => {
  let pluginId = '';

  beforeAll(async () => {
    if (!built) return;
    await resetWeft(H); // fresh state: this peer claims the whole range again
    await timed('plugin create', () => shOk(H, 'scripts/plugin create', 300_000));
    await timed('plugin enable', () => docker(H, ['plugin', 'enable', 'weft'], 120_000));
    pluginId = (await docker(H, ['plugin', 'inspect', '-f', '{{.Id}}', 'weft'])).trim();
  }, 420_000);

  test('enabled: its socket is where Docker put it; networks with -d weft:latest serve docker run --net', async () => {
    expect(built).toBe(true);
    const ls = await docker(H, ['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
    expect(ls.split('\n')).toContain('weft:latest true');
    expect((await sh(H, `test -S /run/docker/plugins/${pluginId}/weft.sock`)).code).toBe(0);
    await docker(H, ['network', 'create', '-d', 'weft:latest', '--ipam-driver', 'weft:latest', '--subnet', '10.44.0.0/24', 'pnet']);
    expect((await docker(H, ['network', 'inspect', '-f', '{{.Driver}} {{.IPAM.Driver}}', 'pnet'])).trim()).toBe('weft:latest weft:latest');
    expect(await runOn('p1', 'pnet', ['--ip', '10.44.0.10'])).toBe('10.44.0.10');
    const p2 = await runOn('p2', 'pnet');
    expect(p2).toMatch(/^10\.44\.0\./);
    expect(await pings('p2', '10.44.0.10')).toBe(true);
    expect(await pings('p1', p2)).toBe(true);
    // weft in the plugin knows its Docker name, so it follows Docker's view of its networks
    const st = JSON.parse(await shOk(H, 'bin/weft status --json')) as { driver: string; networks: Array<{ subnet: string }> };
    expect(st.driver).toBe('weft:latest');
    expect(st.networks.map((n) => n.subnet)).toContain('10.44.0.0/24');
  }, 180_000);

  test('disable and rm leave no device, no socket, no process and no plugin directory behind', async () => {
    expect(built).toBe(true);
    await docker(H, ['rm', '-f', 'p1', 'p2']);
    await docker(H, ['network', 'rm', 'pnet']);
    expect((await weftDevices()).length).toBeGreaterThan(0); // wfprobe at least, until disable
    await timed('plugin disable', () => docker(H, ['plugin', 'disable', 'weft'], 120_000));
    await docker(H, ['plugin', 'rm', 'weft']);
    expect((await docker(H, ['plugin', 'ls', '-q'])).trim()).toBe('');
    expect(await weftDevices()).toEqual([]);
    expect((await shOk(H, 'find /run/docker/plugins -name "weft*.sock" 2>/dev/null; true')).trim()).toBe('');
    expect((await sh(H, `test -e /run/docker/plugins/${pluginId} || test -e /var/lib/docker/plugins/${pluginId}`)).code).not.toBe(0);
    expect(await shOk(H, 'iptables -S FORWARD')).not.toContain('weft-');
    expect(await shOk(H, 'iptables -t raw -S PREROUTING')).not.toContain('weft-');
    expect(await weftProcesses()).toEqual([]);
  }, 180_000);
});
