/**
 * Spare veth pairs: made ahead on a network's bridge so CreateEndpoint makes no
 * kernel call; refilled behind each take; given back by DeleteEndpoint; gone with
 * the network; never taken for a leftover by the reconciler.
 */
import { parseCidr } from '../../../src/addr/cidr';
import { FakeFirewall } from '../../../src/firewall/fake';
import { FakeNetlink } from '../../../src/netlink/fake';
import { oneNamespace } from '../../../src/network/namespaces';
import type { NetworkCollections, NetworkRecord } from '../../../src/network/model';
import { isWeftDevice } from '../../../src/network/names';
import { Networks } from '../../../src/network/networks';
import { Reconciler } from '../../../src/network/reconciler';
import { GIVE_BACK_LIMIT, SparePairs } from '../../../src/network/sparePairs';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { MemoryStore } from '../../../src/store/memory';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';
import { RecordingSysctl } from '../../../src/util/sysctl';

const NET = 'a'.repeat(64);
const EP = (n: number) => n.toString(16).padStart(64, 'e');
const SUBNET = parseCidr('10.40.0.0/24');
// the networks here have no gateway: its veth pair would be one more createVeth in the counts

function setup(size = 2) {
  const netlink = new FakeNetlink();
  const store = new MemoryStore<IpamCollections & NetworkCollections>();
  const clock = new FakeScheduler();
  const sysctl = new RecordingSysctl();
  const spares = new SparePairs({ ns: oneNamespace(netlink, netlink.ref()), log: silentLogger, size, sysctl });
  const networks = new Networks({ store, ns: oneNamespace(netlink, netlink.ref()), firewall: new FakeFirewall(), clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl, spares });
  return { netlink, store, clock, spares, networks, sysctl };
}

/** lets the pool's background work run to its end */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

const weftVeths = async (nl: FakeNetlink) => (await nl.listLinks()).filter((l) => l.kind === 'veth').map((l) => l.name).sort();
const creates = (nl: FakeNetlink) => nl.calls.filter((c) => c.op === 'createVeth' && !c.error).length;

async function network(t: ReturnType<typeof setup>): Promise<NetworkRecord> {
  await t.networks.createNetwork({ id: NET, subnet: SUBNET, internal: false, mtu: 1400 });
  await settle();
  return t.networks.network(NET)!;
}

test('a new network gets its spares: on its bridge, its MTU, host end up, container end down, names of their own', async () => {
  const t = setup(2);
  const net = await network(t);
  const names = t.spares.deviceNames(NET);
  expect(names).toHaveLength(4);
  expect(await weftVeths(t.netlink)).toEqual([...names].sort());
  const bridge = (await t.netlink.getLink(net.bridge))!;
  for (const name of names) {
    expect(isWeftDevice(name)).toBe(true);
    expect(name).toMatch(/^wf[hc]z[0-9a-f]{11}$/);
    const l = (await t.netlink.getLink(name))!;
    expect(l.mtu).toBe(1400);
    if (name.startsWith('wfh')) expect(l).toMatchObject({ up: true, masterIndex: bridge.index });
    else expect([l.up, l.masterIndex]).toEqual([false, undefined]);
  }
  const owned = t.networks.deviceNames(net);
  expect(owned.bridges).toEqual(expect.arrayContaining(names.filter((n) => n.startsWith('wfh'))));
  expect(owned.host).toEqual(expect.arrayContaining(names.filter((n) => n.startsWith('wfc'))));
});

test('CreateEndpoint takes a spare without a kernel call; the pool makes the next one behind it', async () => {
  const t = setup(2);
  await network(t);
  const before = t.netlink.calls.length;
  const spare = t.spares.deviceNames(NET).find((n) => n.startsWith('wfh'))!;
  const r = await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  expect(r).toEqual({ mac: '02:42:0a:28:00:09', generated: false });
  const ep = t.networks.endpoint(NET, EP(1));
  expect(ep.hostVeth).toBe(spare);
  expect(ep.containerVeth).toBe(`wfc${spare.slice(3)}`);
  // the only kernel call since is the refill
  await settle();
  expect(t.netlink.calls.slice(before).map((c) => c.op)).toEqual(['createVeth']);
  expect(t.spares.deviceNames(NET)).toHaveLength(4);
  expect(t.spares.deviceNames(NET)).not.toContain(spare);
  // Join hands Docker the spare's container end, which exists in the host namespace
  const j = await t.networks.join(NET, EP(1), '/var/run/docker/netns/x');
  expect(j.srcName).toBe(ep.containerVeth);
  expect(await t.netlink.getLink(j.srcName)).toBeDefined();
});

test('with the pool empty, one CreateEndpoint waits for the spare being made; the next makes its own pair, named for the endpoint', async () => {
  const t = setup(1);
  await network(t);
  // three endpoints at once: the first takes the spare, the second waits for its refill (under way), the third makes its own
  const made = creates(t.netlink);
  const rs = await Promise.all([1, 2, 3].map((n) => t.networks.createEndpoint({ networkId: NET, endpointId: EP(n), ip: SUBNET.base + 10 + n, prefix: 24, mac: `02:42:0a:28:00:1${n}` })));
  expect(rs.every((r) => !r.generated)).toBe(true);
  const names = [1, 2, 3].map((n) => t.networks.endpoint(NET, EP(n)).hostVeth);
  expect(names.slice(0, 2).every((n) => n.startsWith('wfhz'))).toBe(true);
  expect(names[2]).toBe(`wfh${EP(3).slice(0, 12)}`);
  const own = (await t.netlink.getLink(`wfc${EP(3).slice(0, 12)}`))!;
  expect(own.mac).toBe('02:42:0a:28:00:13');
  await settle();
  expect(t.spares.deviceNames(NET)).toHaveLength(2);
  // the refill the second took, the pool's own again, and the third's pair
  expect(creates(t.netlink) - made).toBe(3);
});

test('the first CreateEndpoint on a new network waits for the spare being made, and makes no pair of its own', async () => {
  const t = setup(2);
  const release = t.netlink.holdNext('createVeth');
  await t.networks.createNetwork({ id: NET, subnet: SUBNET, internal: false, mtu: 1400 });
  let done = false;
  const ep = t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' }).then(() => (done = true));
  await settle();
  // the kernel has not made the pool's first pair yet: the endpoint waits, and asked for nothing
  expect(done).toBe(false);
  expect(t.netlink.calls.filter((c) => c.op === 'createVeth')).toHaveLength(1);
  release();
  await ep;
  expect(t.networks.endpoint(NET, EP(1)).hostVeth).toMatch(/^wfhz/);
  await settle();
  expect(creates(t.netlink)).toBe(3);
  expect(t.spares.deviceNames(NET)).toHaveLength(4);
});

test('when the spare being made fails, the waiting CreateEndpoint makes its own pair', async () => {
  const t = setup(2);
  const release = t.netlink.holdNext('createVeth');
  t.netlink.failNext('createVeth', 'EBUSY');
  await t.networks.createNetwork({ id: NET, subnet: SUBNET, internal: false, mtu: 1400 });
  const ep = t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  await settle();
  release();
  await ep;
  expect(t.networks.endpoint(NET, EP(1)).hostVeth).toBe(`wfh${EP(1).slice(0, 12)}`);
  expect(creates(t.netlink)).toBe(1);
});

/** what Docker does around an endpoint: Join, the container end into the container and, when it stops, back out (down), Leave */
async function dockerCycle(t: ReturnType<typeof setup>, ep: number): Promise<void> {
  const { containerVeth } = t.networks.endpoint(NET, EP(ep));
  await t.networks.join(NET, EP(ep), '/var/run/docker/netns/x');
  t.netlink.moveAway(containerVeth);
  t.netlink.moveBack(containerVeth);
  await t.networks.leave(NET, EP(ep));
}

test('DeleteEndpoint gives the pair back to the pool without a kernel call; a later endpoint takes it', async () => {
  const t = setup(2);
  await network(t);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  await settle();
  const ep = t.networks.endpoint(NET, EP(1));
  await dockerCycle(t, 1);
  const before = t.netlink.calls.length;
  await t.networks.deleteEndpoint(NET, EP(1));
  await t.networks.settled();
  expect(t.netlink.calls.slice(before)).toEqual([]);
  expect(() => t.networks.endpoint(NET, EP(1))).toThrow(/no such endpoint/);
  expect(t.spares.deviceNames(NET)).toEqual(expect.arrayContaining([ep.hostVeth, ep.containerVeth]));
  expect(t.spares.deviceNames(NET)).toHaveLength(6);
  expect(await weftVeths(t.netlink)).toEqual([...t.spares.deviceNames(NET)].sort());
  // the pool hands out the oldest first: the third endpoint gets the pair given back
  const creates0 = creates(t.netlink);
  const got: string[] = [];
  for (const n of [2, 3, 4]) {
    await t.networks.createEndpoint({ networkId: NET, endpointId: EP(n), ip: SUBNET.base + 10 + n, prefix: 24 });
    got.push(t.networks.endpoint(NET, EP(n)).hostVeth);
  }
  expect(got[2]).toBe(ep.hostVeth);
  expect(t.networks.endpoint(NET, EP(4)).containerVeth).toBe(ep.containerVeth);
  await settle();
  // three taken from three, refilled to two: two made (three without the pair given back)
  expect(creates(t.netlink) - creates0).toBe(2);
  const j = await t.networks.join(NET, EP(4), '/var/run/docker/netns/y');
  expect(j.srcName).toBe(ep.containerVeth);
});

test('a full pool takes no more: the pair is deleted, in one call', async () => {
  const t = setup(1);
  await network(t);
  for (const n of [1, 2, 3]) await t.networks.createEndpoint({ networkId: NET, endpointId: EP(n), ip: SUBNET.base + 10 + n, prefix: 24 });
  await settle();
  for (const n of [1, 2, 3]) await dockerCycle(t, n);
  const deleted: string[] = [];
  for (const n of [1, 2, 3]) {
    const ep = t.networks.endpoint(NET, EP(n));
    const before = t.netlink.calls.length;
    await t.networks.deleteEndpoint(NET, EP(n));
    if (t.netlink.calls.length > before) {
      expect(t.netlink.calls.slice(before).map((c) => c.op)).toEqual(['deleteLink']);
      deleted.push(ep.hostVeth);
    }
  }
  // size 1: the pool holds at most GIVE_BACK_LIMIT (2) pairs; it had its refill, so one more fits
  expect(GIVE_BACK_LIMIT).toBe(2);
  expect(deleted).toHaveLength(2);
  expect(t.spares.deviceNames(NET)).toHaveLength(4);
  expect(await weftVeths(t.netlink)).toEqual([...t.spares.deviceNames(NET)].sort());
});

test('a pair not as Docker leaves it is deleted, not kept: container end still away, up, or another MTU', async () => {
  const t = setup(2);
  const net = await network(t);
  for (const n of [1, 2, 3]) await t.networks.createEndpoint({ networkId: NET, endpointId: EP(n), ip: SUBNET.base + 10 + n, prefix: 24 });
  await settle();
  const spares = [...t.spares.deviceNames(NET)].sort();
  const [a, b, c] = [1, 2, 3].map((n) => t.networks.endpoint(NET, EP(n)));
  t.netlink.moveAway(a!.containerVeth); // still in a container (DeleteEndpoint without the move back)
  await t.netlink.setLink(b!.containerVeth, { up: true });
  await t.netlink.setLink(c!.containerVeth, { mtu: net.mtu - 100 });
  for (const n of [1, 2, 3]) await t.networks.deleteEndpoint(NET, EP(n));
  expect([...t.spares.deviceNames(NET)].sort()).toEqual(spares);
  expect(await weftVeths(t.netlink)).toEqual(spares);
});

test('a lone container end left by a crash still goes with DeleteEndpoint', async () => {
  const t = setup(0);
  await network(t);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  const ep = t.networks.endpoint(NET, EP(1));
  await t.netlink.deleteLink(ep.hostVeth); // both ends gone; then a device of the container end's name alone
  await t.netlink.createVeth({ name: ep.containerVeth, peerName: 'xpeer' });
  await t.networks.deleteEndpoint(NET, EP(1));
  await t.networks.settled();
  expect(await t.netlink.getLink(ep.containerVeth)).toBeUndefined();
});

test('deleting or unapplying the network removes its spares, including one still being made', async () => {
  const t = setup(2);
  await network(t);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  // the refill is in flight now; deletion waits for it and removes what it made
  await t.networks.deleteNetwork(NET);
  expect(await weftVeths(t.netlink)).toEqual([]);
  expect(t.spares.deviceNames(NET)).toEqual([]);
  await settle();
  expect(await weftVeths(t.netlink)).toEqual([]);

  const u = setup(2);
  const net = await network(u);
  await u.networks.unapplyNetwork(net);
  expect(await weftVeths(u.netlink)).toEqual([]);
  // applying it again (the next start) makes new spares
  await u.networks.applyNetwork(net);
  await settle();
  expect(await weftVeths(u.netlink)).toHaveLength(4);
});

test('the reconciler keeps the spares, and removes those an earlier process left', async () => {
  const t = setup(2);
  const net = await network(t);
  await t.netlink.createVeth({ name: 'wfhz00000000000', peerName: 'wfcz00000000000', master: net.bridge });
  const ipam = new Ipam(t.store, t.clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, () => undefined);
  const rec = new Reconciler({ networks: t.networks, ipam, ns: oneNamespace(t.netlink, t.netlink.ref()), firewall: new FakeFirewall(), clock: t.clock, log: silentLogger, driver: 'weft' });
  await rec.kernel();
  await settle();
  expect(await t.netlink.getLink('wfhz00000000000')).toBeUndefined();
  expect(await weftVeths(t.netlink)).toEqual([...t.spares.deviceNames(NET)].sort());
  expect(t.spares.deviceNames(NET)).toHaveLength(4);
});

test('a spare the kernel refuses is logged and skipped; the next take or apply tries again', async () => {
  const t = setup(2);
  t.netlink.failNext('createVeth', 'EBUSY');
  const net = await network(t);
  expect(t.spares.deviceNames(NET)).toEqual([]);
  expect(creates(t.netlink)).toBe(0);
  // no spare: the endpoint makes its own pair
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  expect(t.networks.endpoint(NET, EP(1)).hostVeth).toBe(`wfh${EP(1).slice(0, 12)}`);
  await t.networks.applyNetwork(net);
  await settle();
  expect(t.spares.deviceNames(NET)).toHaveLength(4);
});

test('size 0: no spares, every endpoint makes its own pair', async () => {
  const t = setup(0);
  await network(t);
  expect(await weftVeths(t.netlink)).toEqual([]);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP(1), ip: SUBNET.base + 9, prefix: 24 });
  expect(t.networks.endpoint(NET, EP(1)).hostVeth).toBe(`wfh${EP(1).slice(0, 12)}`);
});
