/**
 * weft on one host, end to end: a real dockerd in a lab host (scripts/lab),
 * the real daemon launched with bin/weft, real containers.
 */
import { docker, labDown, labUp, linkNames, resetWeft, restartDockerd, sh, shOk } from './lab';

const H = 'h1';
const weft = (args: string) => sh(H, `bin/weft ${args}`);

/** eth0 address of a running container */
async function ipOf(name: string): Promise<string> {
  const out = await docker(H, ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name]);
  return out.trim().split(/\s+/)[0];
}

async function run(name: string, net = 'weft', extra: string[] = []): Promise<string> {
  await docker(H, ['run', '-d', '--name', name, '--net', net, ...extra, 'lab/busybox', 'sleep', '3600']);
  return ipOf(name);
}

async function pings(from: string, ip: string): Promise<boolean> {
  return (await sh(H, ['/usr/bin/docker', 'exec', from, 'ping', '-c', '1', '-W', '2', ip])).code === 0;
}

/** both namespaces' */
const links = (): Promise<string[]> => linkNames(H);

async function weftPid(): Promise<number> {
  return Number((await shOk(H, 'cat /run/weft/weft.pid')).trim());
}

beforeAll(async () => {
  await labUp(1);
  await resetWeft(H);
  const launched = await weft('launch');
  expect(launched.stderr).toBe('');
  expect(launched.code).toBe(0);
}, 300_000);

afterAll(async () => {
  await resetWeft(H);
  await labDown();
}, 180_000);

test('launch creates the default network; containers on it get addresses in 10.32.0.0/12 and reach each other and the gateway', async () => {
  const nets = await docker(H, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  expect(nets.split('\n')).toContain('weft weft');
  const a = await run('a1');
  const b = await run('b1');
  expect(a).toMatch(/^10\.(3[2-9]|4[0-7])\./);
  expect(b).toMatch(/^10\.(3[2-9]|4[0-7])\./);
  expect(a).not.toBe(b);
  expect(await pings('a1', b)).toBe(true);
  expect(await pings('b1', a)).toBe(true);
  expect(await pings('a1', '10.32.0.1')).toBe(true);
  const st = await weft('status');
  expect(st.code).toBe(0);
  expect(st.stdout).toContain(a);
}, 120_000);

test('a stopped container\'s veth pair serves a later one: kept, not deleted; at most four kept per network; the later container talks', async () => {
  const keep = await run('r0');
  const endpointOf = async (name: string) => (await docker(H, ['inspect', '-f', '{{.NetworkSettings.Networks.weft.EndpointID}}', name])).trim();
  const pairOf = async (name: string) => {
    const id = await endpointOf(name);
    const st = JSON.parse((await weft('status --json')).stdout) as { endpoints: Array<{ id: string; hostVeth: string }> };
    const ep = st.endpoints.find((e) => e.id === id);
    if (!ep) throw new Error(`no endpoint ${id} in weft status`);
    return ep.hostVeth;
  };
  await run('r1');
  const pair = await pairOf('r1');
  await docker(H, ['rm', '-f', 'r1']);
  expect(await links()).toContain(pair);
  // the pool hands out its oldest spares first: one of the next three gets r1's pair
  const later = ['r2', 'r3', 'r4'];
  for (const n of later) await run(n);
  const pairs = await Promise.all(later.map(pairOf));
  const i = pairs.indexOf(pair);
  expect(i).toBeGreaterThanOrEqual(0);
  expect(await pings(later[i]!, keep)).toBe(true);
  expect(await pings('a1', (await ipOf(later[i]!)))).toBe(true);
  // five stopped at once: container ends left in the host namespace are the spares only, at most four
  await docker(H, ['rm', '-f', ...later, 'r0']);
  const nets = (await docker(H, ['network', 'ls', '-q', '-f', 'driver=weft'])).trim().split(/\s+/).length;
  expect(nets).toBe(1);
  expect((await links()).filter((l) => l.startsWith('wfc')).length).toBeLessThanOrEqual(4);
}, 120_000);

test('a second launch says weft is running and exits non-zero; bad flags get one line', async () => {
  const again = await weft('launch');
  expect(again.code).not.toBe(0);
  expect(again.stderr.trim()).toMatch(/already running/);
  const bad = await weft('launch --ipalloc-range banana');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  const unknown = await weft('launch --colour blue');
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
}, 60_000);

test('--subnet network: --ip honoured, a taken --ip refused with weft\'s message, rm leaves no device', async () => {
  await docker(H, ['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', '--subnet', '10.40.0.0/24', 'n1']);
  const netId = (await docker(H, ['network', 'inspect', '-f', '{{.Id}}', 'n1'])).trim();
  expect(await run('n1a', 'n1', ['--ip', '10.40.0.50'])).toBe('10.40.0.50');
  const refused = await sh(H, ['/usr/bin/docker', 'run', '--rm', '--net', 'n1', '--ip', '10.40.0.50', 'lab/busybox', 'true']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('weft: address 10.40.0.50 is already in use');
  const other = await run('n1b', 'n1');
  expect(await pings('n1b', '10.40.0.50')).toBe(true);
  expect(other).not.toBe('10.40.0.50');

  const epIds = (await docker(H, ['network', 'inspect', '-f', '{{range .Containers}}{{.EndpointID}} {{end}}', 'n1'])).trim().split(/\s+/);
  await docker(H, ['rm', '-f', 'n1a', 'n1b']);
  await docker(H, ['network', 'rm', 'n1']);
  const left = await links();
  expect(left.filter((l) => l === `weft-${netId.slice(0, 10)}`)).toEqual([]);
  for (const ep of epIds) expect(left.filter((l) => l.endsWith(ep.slice(0, 12)))).toEqual([]);
  const st = JSON.parse((await weft('status --json')).stdout) as { pools: Array<{ subnet: string }> };
  expect(st.pools.map((p) => p.subnet)).not.toContain('10.40.0.0/24');
}, 120_000);

test('kill -9 and relaunch: containers keep talking, new ones never get an address in use', async () => {
  const a = await run('k1');
  const b = await run('k2');
  await shOk(H, `kill -9 ${await weftPid()}`);
  expect((await weft('launch')).code).toBe(0);
  expect(await pings('k1', b)).toBe(true);
  const inUse = new Set(await Promise.all(['a1', 'b1', 'k1', 'k2'].map(ipOf)));
  const c = await run('k3');
  expect(inUse.has(c)).toBe(false);
  expect(await pings('k3', a)).toBe(true);
}, 120_000);

test('malformed requests straight to the socket get error replies and the daemon stays up', async () => {
  const post = (path: string, body: string) =>
    sh(H, ['node', '-e', `
      const http = require('http');
      const body = process.argv[2] === 'BIG' ? Buffer.alloc(5 * 1024 * 1024, 32) : Buffer.from(process.argv[2]);
      const req = http.request({ socketPath: '/run/docker/plugins/weft.sock', method: 'POST', path: process.argv[1], headers: { 'Content-Length': body.length } }, (res) => {
        let s = ''; res.on('data', (c) => (s += c)); res.on('end', () => console.log(res.statusCode + ' ' + s));
      });
      req.on('error', (e) => { if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') { console.log('ERR ' + e.message); } });
      req.end(body);`, path, body]);
  const cases: Array<[string, string, RegExp]> = [
    ['/IpamDriver.RequestPool', '{"Pool": ', /^400 .*"Err":"weft: request body is not JSON/],
    ['/NetworkDriver.Join', '{"NetworkID": "ffff", "EndpointID": "eeee", "SandboxKey": "/x"}', /^200 .*"Err":"weft: no such network ffff/],
    ['/IpamDriver.RequestAddress', '{"PoolID": 7}', /^200 .*"Error":"weft: bad IpamDriver.RequestAddress request: PoolID/],
    ['/IpamDriver.RequestPool', 'BIG', /^413 .*"Err":"weft: request body larger than 1mb/],
  ];
  for (const [path, body, expected] of cases) {
    const r = await post(path, body);
    expect(r.stdout.trim()).toMatch(expected);
  }
  expect((await weft('status')).code).toBe(0);
}, 60_000);

test('30 concurrent docker run get 30 distinct addresses', async () => {
  const names = Array.from({ length: 30 }, (_, i) => `c${i}`);
  await Promise.all(names.map((n) => docker(H, ['run', '-d', '--name', n, '--net', 'weft', 'lab/busybox', 'sleep', '3600'])));
  const ips = await Promise.all(names.map(ipOf));
  expect(new Set(ips).size).toBe(30);
  expect(ips.every((ip) => /^10\.32\./.test(ip))).toBe(true);
  await docker(H, ['rm', '-f', ...names]);
}, 300_000);

test('a dockerd restart keeps weft working', async () => {
  await restartDockerd(H);
  // containers without a restart policy stopped with dockerd; weft must serve new ones at once
  const x = await run('r1');
  const y = await run('r2');
  expect(x).not.toBe(y);
  expect(await pings('r1', y)).toBe(true);
  expect((await weft('status')).code).toBe(0);
}, 180_000);
