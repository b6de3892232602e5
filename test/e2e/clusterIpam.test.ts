/**
 * Cluster-wide IPAM across three lab hosts with real dockerd: no address twice,
 * not even across a cut link; --ip moves ownership when free and is refused
 * while in use elsewhere; a peer killed with -9 keeps its space.
 */
import { cut, docker, heal, labDown, labUp, resetWeft as reset, sh, shOk, weftLog } from './lab';

const HOSTS = ['h1', 'h2', 'h3'];

async function startMany(host: string, prefix: string, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => docker(host, ['run', '-d', '--net', 'weft', '--name', `${prefix}${i}`, 'lab/busybox', 'sleep', '3600'], 180_000)));
}

async function addresses(): Promise<string[]> {
  const all: string[] = [];
  for (const h of HOSTS) {
    const out = await shOk(h, '/usr/bin/docker ps -q | xargs -r /usr/bin/docker inspect -f "{{.NetworkSettings.Networks.weft.IPAddress}}"');
    all.push(...out.split('\n').filter(Boolean));
  }
  return all;
}

interface RingView { ring: { owners: Array<{ nickname: string; addresses: number }> }; mesh: { peers: Array<{ state: string }> } }
async function view(host: string): Promise<RingView> {
  return JSON.parse(await shOk(host, 'bin/weft status --json')) as RingView;
}

beforeAll(async () => {
  await labUp(3);
  for (const h of HOSTS) await reset(h);
  await shOk('h1', 'bin/weft launch');
  await shOk('h2', 'bin/weft launch 192.168.91.1');
  await shOk('h3', 'bin/weft launch 192.168.91.1');
}, 600_000);

afterAll(async () => {
  for (const h of HOSTS) await reset(h);
  await labDown();
}, 300_000);

test('30 containers started at once on each of three hosts get 90 distinct addresses', async () => {
  await Promise.all(HOSTS.map((h) => startMany(h, 'a', 30)));
  const all = await addresses();
  expect(all).toHaveLength(90);
  expect(new Set(all).size).toBe(90);
  // the space was divided: every peer owns some
  const owners = (await view('h1')).ring.owners;
  expect(owners.map((o) => o.nickname).sort()).toEqual(['h1', 'h2', 'h3']);
}, 600_000);

test('with h3 cut off, 20 more on each side are still all distinct, and status converges within 5 s of healing', async () => {
  await cut('h3');
  try {
    await Promise.all(HOSTS.map((h) => startMany(h, 'b', 20)));
  } finally {
    await heal('h3');
  }
  const all = await addresses();
  expect(all).toHaveLength(150);
  expect(new Set(all).size).toBe(150);
  const start = Date.now();
  for (;;) {
    const views = await Promise.all(HOSTS.map(view));
    const rings = views.map((v) => JSON.stringify(v.ring.owners));
    if (views.every((v) => v.mesh.peers.every((p) => p.state === 'alive')) && new Set(rings).size === 1) break;
    if (Date.now() - start > 5000) throw new Error(`not converged: ${rings.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 600_000);

test('--ip of an address in use on another host is refused with weft\'s message; once freed, it moves', async () => {
  const ip = (await docker('h1', ['inspect', '-f', '{{.NetworkSettings.Networks.weft.IPAddress}}', 'a3'])).trim();
  const refused = await sh('h2', ['/usr/bin/docker', 'run', '--rm', '--net', 'weft', '--ip', ip, 'lab/busybox', 'true']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain(`weft: address ${ip} is already in use on h1`);
  await docker('h1', ['rm', '-f', 'a3']);
  await docker('h2', ['run', '-d', '--net', 'weft', '--ip', ip, '--name', 'moved', 'lab/busybox', 'sleep', '3600']);
  expect((await docker('h2', ['inspect', '-f', '{{.NetworkSettings.Networks.weft.IPAddress}}', 'moved'])).trim()).toBe(ip);
  // and h1 cannot hand it out again
  const again = await sh('h1', ['/usr/bin/docker', 'run', '--rm', '--net', 'weft', '--ip', ip, 'lab/busybox', 'true']);
  expect(again.stderr).toContain(`weft: address ${ip} is already in use on h2`);
}, 120_000);

test('kill -9 and relaunch of a peer keeps its space and allocations; no duplicates appear', async () => {
  const before = (await view('h2')).ring.owners;
  await shOk('h2', 'kill -9 $(cat /run/weft/weft.pid)');
  await shOk('h2', 'bin/weft launch 192.168.91.1');
  const after = (await view('h2')).ring.owners;
  expect(after).toEqual(before);
  await Promise.all(HOSTS.map((h) => startMany(h, 'c', 5)));
  const all = await addresses();
  expect(new Set(all).size).toBe(all.length);
}, 300_000);

test('a network created on h1 works on h3 without anything typed there; removal follows', async () => {
  await docker('h1', ['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', '--subnet', '10.50.0.0/24', 'app']);
  const start = Date.now();
  for (;;) {
    const r = await sh('h3', ['/usr/bin/docker', 'network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'app']);
    if (r.code === 0) {
      expect(r.stdout.trim()).toBe('10.50.0.0/24');
      break;
    }
    if (Date.now() - start > 10_000) throw new Error('network app did not reach h3 within 10 s');
    await new Promise((res) => setTimeout(res, 250));
  }
  await docker('h3', ['run', '-d', '--net', 'app', '--name', 'onapp', 'lab/busybox', 'sleep', '3600']);
  const ip = (await docker('h3', ['inspect', '-f', '{{.NetworkSettings.Networks.app.IPAddress}}', 'onapp'])).trim();
  expect(ip).toMatch(/^10\.50\.0\./);
  // removed on h1: h2 (no containers on it) follows; h3 keeps it while its container runs
  try {
    await docker('h1', ['network', 'rm', 'app']);
    const gone = async (h: string) => (await sh(h, ['/usr/bin/docker', 'network', 'inspect', 'app'])).code !== 0;
    const t0 = Date.now();
    while (!(await gone('h2'))) {
      if (Date.now() - t0 > 15_000) throw new Error(`removal did not reach h2; its log:\n${await weftLog('h2')}\nh3's log:\n${await weftLog('h3')}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(await gone('h3')).toBe(false);
    await docker('h3', ['rm', '-f', 'onapp']);
    const t1 = Date.now();
    while (!(await gone('h3'))) {
      if (Date.now() - t1 > 15_000) throw new Error(`removal did not reach h3 once empty; its log:\n${await weftLog('h3')}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  } finally {
    // a failure here must not show up again in the tests after it
    await sh('h3', ['/usr/bin/docker', 'rm', '-f', 'onapp']);
  }
}, 120_000);

test('weft ps lists every container of the cluster with its host', async () => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = JSON.parse(await shOk('h2', 'bin/weft ps --json')) as Array<{ hostName: string; container?: string; ip: string }>;
    const all = await addresses();
    const named = rows.filter((r) => r.container);
    if (rows.length === all.length && named.length === rows.length) {
      expect(new Set(rows.map((r) => r.hostName))).toEqual(new Set(HOSTS));
      expect(rows.map((r) => r.ip).sort()).toEqual([...all].sort());
      break;
    }
    if (Date.now() > deadline) throw new Error(`weft ps on h2 shows ${rows.length} rows (${named.length} named) for ${all.length} containers`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const text = await shOk('h2', 'bin/weft ps');
  expect(text.split('\n')[0]).toMatch(/^HOST\s+CONTAINER\s+ADDRESS/);
}, 60_000);

test('rmpeer is refused while the peer answers, and reclaims its space once it is gone', async () => {
  const refused = await sh('h1', 'bin/weft rmpeer h3');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/h3 is alive/);
  await shOk('h3', '/usr/bin/docker rm -f $(/usr/bin/docker ps -aq) >/dev/null; bin/weft stop');
  const deadline = Date.now() + 10_000;
  while ((JSON.parse(await shOk('h1', 'bin/weft status --json')) as { mesh: { peers: Array<{ nickname: string; state: string }> } }).mesh.peers.find((p) => p.nickname === 'h3')?.state !== 'dead') {
    if (Date.now() > deadline) throw new Error('h3 not dead on h1');
    await new Promise((r) => setTimeout(r, 250));
  }
  await shOk('h1', 'bin/weft rmpeer h3');
  const owners = (await view('h1')).ring.owners.map((o) => o.nickname).sort();
  expect(owners).toEqual(['h1', 'h2']);
  const t0 = Date.now();
  while ((await view('h2')).ring.owners.some((o) => o.nickname === 'h3')) {
    if (Date.now() - t0 > 5000) throw new Error('h2 did not learn of the reclaim');
    await new Promise((r) => setTimeout(r, 250));
  }
}, 60_000);
