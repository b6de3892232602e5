/**
 * Operating weft on one lab host with real dockerd: Prometheus metrics on the
 * status API, `weft stop` with and without --keep, `weft reset`.
 */
import { DOCKER, docker, labDown, labUp, linkNames, resetWeft, sh, shOk, waitFor } from './lab';

const metric = (text: string, line: RegExp): number => {
  const m = line.exec(text);
  return m ? Number(m[1]) : NaN;
};
const scrape = () => shOk('h1', 'curl -sf http://127.0.0.1:6784/metrics');
/** a network's devices, in both namespaces (endpoints' veths aside) */
const weftDevices = async () => (await linkNames('h1')).filter((n) => /^(weft-|wfv|wft|wfg|wfb|wfprobe)/.test(n)).sort();

beforeAll(async () => {
  await labUp(1);
  await resetWeft('h1');
  await shOk('h1', 'bin/weft launch');
}, 600_000);

afterAll(async () => {
  await resetWeft('h1');
  await labDown();
}, 300_000);

test('/metrics: Prometheus text with every family; counters move when a container starts', async () => {
  const before = await scrape();
  for (const family of [
    'weft_plugin_calls_total', 'weft_plugin_call_duration_seconds', 'weft_ipam_owned_addresses', 'weft_ipam_pool_used_addresses',
    'weft_ipam_pool_free_addresses', 'weft_peers', 'weft_peer_paths', 'weft_mesh_frames_total', 'weft_mesh_bytes_total',
    'weft_sleeve_frames_total', 'weft_sleeve_bytes_total', 'weft_process_resident_memory_bytes',
  ]) expect(before).toContain(`# TYPE ${family} `);
  const joins = (t: string) => metric(t, /^weft_plugin_calls_total\{method="NetworkDriver\.Join",outcome="ok"\} (\d+)/m) || 0;
  const used = (t: string) => metric(t, /^weft_ipam_pool_used_addresses\{subnet="10\.32\.0\.0\/16"\} (\d+)/m) || 0;
  await docker('h1', ['run', '-d', '--name', 'metered', '--net', 'weft', 'lab/busybox', 'sleep', '600']);
  const after = await scrape();
  expect(joins(after)).toBe(joins(before) + 1);
  expect(used(after)).toBe(used(before) + 1);
  expect(after).toMatch(/^weft_plugin_call_duration_seconds_count\{method="NetworkDriver\.CreateEndpoint"\} [1-9]/m);
  await docker('h1', ['rm', '-f', 'metered']);
}, 120_000);

test('weft stop --keep leaves the devices; weft stop takes them out; launch puts them back', async () => {
  const running = await weftDevices();
  expect(running).toEqual(expect.arrayContaining([
    expect.stringMatching(/^weft-/), expect.stringMatching(/^wfv/), expect.stringMatching(/^wft/), expect.stringMatching(/^wfg/), expect.stringMatching(/^wfb/), 'wfprobe',
  ]));
  // the bridges are in weft's own namespace, out of the host's iptables: no rules for them
  expect(await linkNames('h1', 'host')).toEqual(expect.arrayContaining(['wfprobe', expect.stringMatching(/^wfg/)]));
  expect((await linkNames('h1', 'host')).filter((n) => /^(weft-|wfv|wft|wfb)/.test(n))).toEqual([]);
  expect(await shOk('h1', 'iptables -S FORWARD')).not.toMatch(/weft-/);
  expect(await shOk('h1', 'iptables -t raw -S PREROUTING')).not.toMatch(/weft-/);
  expect(await shOk('h1', 'bin/weft stop --keep')).toMatch(/stopped \(devices kept\)/);
  // the TAP goes with the process; the rest stays
  expect(await weftDevices()).toEqual(running.filter((n) => !n.startsWith('wft')));
  await shOk('h1', 'bin/weft launch');
  await waitFor('devices back', 5000, async () => JSON.stringify(await weftDevices()) === JSON.stringify(running));
  expect(await shOk('h1', 'bin/weft stop')).toMatch(/stopped$/m);
  expect(await weftDevices()).toEqual([]);
  expect(await shOk('h1', 'iptables -S FORWARD')).not.toMatch(/weft-/);
  expect(await shOk('h1', 'iptables -t raw -S PREROUTING')).not.toMatch(/weft-/);
  await shOk('h1', 'bin/weft launch');
  await waitFor('devices back after a full stop', 5000, async () => JSON.stringify(await weftDevices()) === JSON.stringify(running));
}, 120_000);

test('weft reset asks first, then removes the state', async () => {
  const refused = await sh('h1', 'echo no | bin/weft reset');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/not confirmed; nothing changed/);
  expect(await shOk('h1', 'ls /var/lib/weft')).toMatch(/weft\.db/);
  expect(await shOk('h1', 'bin/weft status --json')).toContain('"version"');
  expect(await shOk('h1', 'echo yes | bin/weft reset')).toMatch(/weft state removed from \/var\/lib\/weft/);
  expect(await shOk('h1', 'ls /var/lib/weft')).not.toMatch(/weft\.db/);
  expect((await sh('h1', 'bin/weft status')).code).not.toBe(0);
}, 120_000);

test('after a reset, a relaunched weft adopts the networks Docker still has: the default one and a user\'s', async () => {
  await shOk('h1', 'bin/weft launch');
  await docker('h1', ['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', '--subnet', '10.46.0.0/24', '--gateway', '10.46.0.254', 'kept']);
  expect(await shOk('h1', 'echo yes | bin/weft reset')).toMatch(/weft state removed/);
  await shOk('h1', 'bin/weft launch');
  try {
    // adoption runs once Docker answers, right after launch
    await waitFor('both networks adopted', 10_000, async () => Number(await shOk('h1', 'grep -c "adopted a Docker network" /var/lib/weft/weft.log || true')) >= 2);
    const out = await docker('h1', ['run', '--rm', '--net', 'kept', 'lab/busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    expect(out).toMatch(/inet 10\.46\.0\.\d+\/24/);
    expect(out).toMatch(/default via 10\.46\.0\.254/);
    const dflt = await docker('h1', ['run', '--rm', '--net', 'weft', 'lab/busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    expect(dflt).toMatch(/inet 10\.32\.\d+\.\d+\/16/);
    // Docker does not list the gateway weft's IPAM chose for it; weft finds the same one again
    expect(dflt).toMatch(/default via 10\.32\.0\.1 dev eth0/);
  } finally {
    await sh('h1', ['/usr/bin/docker', 'network', 'rm', 'kept']);
  }
}, 120_000);

test('a weft that kept its bridges in the host namespace is taken over, and back: its running containers keep talking, to each other and to the host', async () => {
  await shOk('h1', 'bin/weft stop');
  await shOk('h1', 'bin/weft launch --bridges-netns host');
  try {
    for (const n of ['old1', 'old2']) await docker('h1', ['run', '-d', '--name', n, '--net', 'weft', 'lab/busybox', 'sleep', '600']);
    const ipOf = async (n: string) => (await docker('h1', ['inspect', '-f', '{{.NetworkSettings.Networks.weft.IPAddress}}', n])).trim();
    const [ip1, ip2] = [await ipOf('old1'), await ipOf('old2')];
    const pings = async () => (await sh('h1', [DOCKER, 'exec', 'old1', 'ping', '-c', '1', '-W', '2', ip2])).code === 0;
    expect(await pings()).toBe(true);
    expect((await linkNames('h1', 'host')).some((n) => n.startsWith('weft-'))).toBe(true);

    await shOk('h1', 'bin/weft stop --keep');
    await shOk('h1', 'bin/weft launch');
    expect(await shOk('h1', 'bin/weft status')).toContain('bridges: in /run/netns/weft');
    // everything of the bridges' side moved or went: the containers' host ends are in weft's namespace, on its bridge
    expect((await linkNames('h1', 'host')).filter((n) => /^(weft-|wfh|wfv|wft|wfb)/.test(n))).toEqual([]);
    const ends = (JSON.parse(await shOk('h1', 'bin/weft status --json')) as { endpoints: Array<{ hostVeth: string }> }).endpoints.map((e) => e.hostVeth);
    expect(ends).toHaveLength(2);
    expect(await linkNames('h1', 'bridges')).toEqual(expect.arrayContaining(ends));
    expect(await pings()).toBe(true);
    // and the host reaches them through the gateway's veth pair
    expect((await sh('h1', ['busybox', 'ping', '-c', '1', '-W', '2', ip1])).code).toBe(0);

    // and back: the host ends come out of weft's namespace, which goes
    await shOk('h1', 'bin/weft stop --keep');
    await shOk('h1', 'bin/weft launch --bridges-netns host');
    expect(await shOk('h1', 'bin/weft status')).toContain('bridges: in the host namespace');
    expect((await sh('h1', 'test -e /run/netns/weft')).code).not.toBe(0);
    expect(await linkNames('h1', 'host')).toEqual(expect.arrayContaining(ends));
    expect(await pings()).toBe(true);
    expect((await sh('h1', ['busybox', 'ping', '-c', '1', '-W', '2', ip1])).code).toBe(0);
  } finally {
    await sh('h1', [DOCKER, 'rm', '-f', 'old1', 'old2']);
  }
}, 180_000);
