/**
 * The network model with the bridges in a namespace of their own (two fakes): what lives where, how
 * spares and the reconciler follow, and how a host end left in the host's namespace by a weft of the
 * one-namespace layout is moved across with its container still on it.
 */
import { parseCidr } from '../../../src/addr/cidr';
import { FakeFirewall } from '../../../src/firewall/fake';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { FakeNetlink } from '../../../src/netlink/fake';
import type { NetworkCollections } from '../../../src/network/model';
import type { Namespaces } from '../../../src/network/namespaces';
import { Networks } from '../../../src/network/networks';
import { Reconciler } from '../../../src/network/reconciler';
import { SparePairs } from '../../../src/network/sparePairs';
import { MemoryStore } from '../../../src/store/memory';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';
import { RecordingSysctl } from '../../../src/util/sysctl';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const SUBNET = parseCidr('10.40.0.0/24');

function setup(spares = 0) {
  const host = new FakeNetlink();
  const bridges = new FakeNetlink();
  const ns: Namespaces = { host: { nl: host, ref: host.ref('host') }, bridges: { nl: bridges, ref: bridges.ref('/run/netns/weft') } };
  const store = new MemoryStore<IpamCollections & NetworkCollections>();
  const clock = new FakeScheduler();
  const firewall = new FakeFirewall();
  const pool = spares > 0 ? new SparePairs({ ns, log: silentLogger, size: spares, sysctl: new RecordingSysctl() }) : undefined;
  const networks = new Networks({ store, ns, firewall, clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl: new RecordingSysctl(), ...(pool ? { spares: pool } : {}) });
  const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, () => undefined);
  const reconciler = new Reconciler({ networks, ipam, ns, firewall, clock, log: silentLogger, driver: 'weft' });
  return { host, bridges, ns, store, firewall, networks, reconciler, pool };
}

const names = async (nl: FakeNetlink) => (await nl.listLinks()).map((l) => l.name).filter((n) => n !== 'lo').sort();

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

async function network(t: ReturnType<typeof setup>) {
  await t.networks.createNetwork({ id: NET, subnet: SUBNET, gateway: { ip: SUBNET.base + 1, prefix: 24 }, internal: false });
  return t.networks.network(NET)!;
}

test('a network: bridge and gateway port in the bridges\' namespace, the gateway in the host\'s; no iptables rules', async () => {
  const t = setup();
  const net = await network(t);
  expect(await names(t.bridges)).toEqual([net.bridge, `wfb${NET.slice(0, 12)}`]);
  expect(await names(t.host)).toEqual([`wfg${NET.slice(0, 12)}`]);
  expect(await t.host.listAddresses(`wfg${NET.slice(0, 12)}`)).toEqual([expect.objectContaining({ cidr: '10.40.0.1/24' })]);
  expect(t.firewall.allowed.size).toBe(0);
  expect(t.networks.deviceNames(net)).toEqual({ host: [`wfg${NET.slice(0, 12)}`], bridges: [net.bridge, `wfb${NET.slice(0, 12)}`] });
  // a rule an earlier layout left is taken away
  t.firewall.allowed.set(net.bridge, net.subnet);
  await t.networks.applyNetwork(net);
  expect(t.firewall.allowed.size).toBe(0);
  await t.networks.deleteNetwork(NET);
  expect([await names(t.host), await names(t.bridges)]).toEqual([[], []]);
});

test('an endpoint: host end on the bridge there, container end here for Docker; Join and delete find each side', async () => {
  const t = setup();
  const net = await network(t);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP, ip: SUBNET.base + 5, prefix: 24, mac: '02:42:0a:28:00:05' });
  const bridge = await t.bridges.getLink(net.bridge);
  expect(await t.bridges.getLink(`wfh${EP.slice(0, 12)}`)).toMatchObject({ up: true, masterIndex: bridge!.index });
  expect(await t.host.getLink(`wfc${EP.slice(0, 12)}`)).toMatchObject({ mac: '02:42:0a:28:00:05', up: false });
  // Docker moves the container end into the container; a later Join (a restart) finds it gone and makes the pair again
  t.host.moveAway(`wfc${EP.slice(0, 12)}`);
  await t.networks.join(NET, EP, '/var/run/docker/netns/x');
  t.host.moveBack(`wfc${EP.slice(0, 12)}`);
  await t.networks.leave(NET, EP);
  t.host.moveAway(`wfc${EP.slice(0, 12)}`);
  const j = await t.networks.join(NET, EP, '/var/run/docker/netns/y');
  expect(j.srcName).toBe(`wfc${EP.slice(0, 12)}`);
  expect((await t.host.getLink(j.srcName))?.kind).toBe('veth');
  await t.networks.deleteEndpoint(NET, EP);
  expect(await t.bridges.getLink(`wfh${EP.slice(0, 12)}`)).toBeUndefined();
  expect(await t.host.getLink(`wfc${EP.slice(0, 12)}`)).toBeUndefined();
});

test('spares: host ends on the bridge there, container ends here; one given back is checked on both sides', async () => {
  const t = setup(2);
  const net = await network(t);
  await settle();
  const pairs = t.pool!.pairs(NET);
  expect(pairs).toHaveLength(2);
  const bridge = await t.bridges.getLink(net.bridge);
  for (const p of pairs) {
    expect(await t.bridges.getLink(p.hostVeth)).toMatchObject({ up: true, masterIndex: bridge!.index });
    expect(await t.host.getLink(p.containerVeth)).toMatchObject({ up: false, mtu: 1450 });
  }
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP, ip: SUBNET.base + 5, prefix: 24, mac: '02:42:0a:28:00:05' });
  const ep = t.networks.endpoint(NET, EP);
  expect(ep.hostVeth).toBe(pairs[0]!.hostVeth);
  await settle();
  await t.networks.deleteEndpoint(NET, EP);
  expect(t.pool!.pairs(NET).map((p) => p.hostVeth)).toContain(ep.hostVeth);
  expect(t.networks.deviceNames(net).host).toEqual(expect.arrayContaining(t.pool!.pairs(NET).map((p) => p.containerVeth)));
});

test('the reconciler removes orphans in each namespace, and moves a host end an earlier layout left in the host\'s', async () => {
  const t = setup();
  const net = await network(t);
  await t.networks.createEndpoint({ networkId: NET, endpointId: EP, ip: SUBNET.base + 5, prefix: 24, mac: '02:42:0a:28:00:05' });
  const hostVeth = `wfh${EP.slice(0, 12)}`;
  const contVeth = `wfc${EP.slice(0, 12)}`;
  // what a weft of the one-namespace layout leaves in the host's: its bridge, the endpoint's pair on it
  // (the container end inside the container), a VXLAN port; and orphans in the bridges' namespace
  await t.bridges.deleteLink(hostVeth);
  await t.host.createBridge({ name: net.bridge });
  await t.host.createVeth({ name: hostVeth, peerName: contVeth, master: net.bridge, up: true });
  t.host.moveAway(contVeth);
  await t.host.createVxlan({ name: `wfv${NET.slice(0, 12)}`, vni: 77, port: 6784, learning: false });
  await t.host.addAddress(net.bridge, '10.40.0.1/24');
  const mark = t.host.calls.length;
  t.firewall.allowed.set(net.bridge, net.subnet);
  await t.bridges.createBridge({ name: 'weft-gone' });
  await t.bridges.createVeth({ name: 'wfhgone', peerName: 'wfcgone', peerNetns: t.host.ref() });

  await t.reconciler.kernel();
  const bridge = await t.bridges.getLink(net.bridge);
  expect(await t.bridges.getLink(hostVeth)).toMatchObject({ kind: 'veth', up: true, masterIndex: bridge!.index });
  expect(await names(t.host)).toEqual([`wfg${NET.slice(0, 12)}`]);
  expect(await names(t.bridges)).toEqual([net.bridge, `wfb${NET.slice(0, 12)}`, hostVeth].sort());
  expect(t.firewall.allowed.size).toBe(0);
  // what that layout left went before anything was made (its VXLAN device would hold the VNI a new one needs)
  const ops = t.host.calls.slice(mark).map((c) => `${c.op} ${(c.args as { name?: string; dev?: string }).name ?? (c.args as { dev?: string }).dev}`);
  expect(ops.indexOf(`deleteLink wfv${NET.slice(0, 12)}`)).toBeLessThan(ops.indexOf(`addAddress wfg${NET.slice(0, 12)}`));
  expect(ops.indexOf(`deleteLink ${net.bridge}`)).toBeLessThan(ops.indexOf(`addAddress wfg${NET.slice(0, 12)}`));
  // the container's end stayed whole (deleting either end of a pair would take it)
  t.host.moveBack(contVeth);
  expect((await t.host.getLink(contVeth))?.kind).toBe('veth');
  await t.reconciler.firewall();
  expect(t.firewall.allowed.size).toBe(0);
});

test('one namespace: a bridge of the earlier layout gives up the gateway address and MAC to the gateway pair', async () => {
  const nl = new FakeNetlink();
  const ns = { host: { nl, ref: nl.ref() }, bridges: { nl, ref: nl.ref() } };
  const networks = new Networks({ store: new MemoryStore<NetworkCollections>(), ns, firewall: new FakeFirewall(), clock: new FakeScheduler(), log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl: new RecordingSysctl() });
  await networks.createNetwork({ id: NET, subnet: SUBNET, gateway: { ip: SUBNET.base + 1, prefix: 24 }, internal: false });
  const net = networks.network(NET)!;
  // as that layout left it: the gateway's address and MAC on the bridge
  await nl.setLink(net.bridge, { mac: net.mac });
  await nl.addAddress(net.bridge, '10.40.0.1/24');
  await networks.applyNetwork(net);
  expect(await nl.listAddresses(net.bridge)).toEqual([]);
  expect((await nl.getLink(net.bridge))?.mac).toBe('7e:18:0a:28:00:00');
  expect((await nl.listAddresses(`wfg${NET.slice(0, 12)}`)).map((a) => a.cidr)).toEqual(['10.40.0.1/24']);
});

test('back to the host\'s namespace: host ends are taken back from the previous namespace, which is emptied', async () => {
  const host = new FakeNetlink();
  const previous = new FakeNetlink();
  const ns: Namespaces = { host: { nl: host, ref: host.ref('host') }, bridges: { nl: host, ref: host.ref('host') }, previous: { nl: previous, ref: previous.ref('/run/netns/weft') } };
  const store = new MemoryStore<IpamCollections & NetworkCollections>();
  const clock = new FakeScheduler();
  const firewall = new FakeFirewall();
  const networks = new Networks({ store, ns, firewall, clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl: new RecordingSysctl() });
  const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, () => undefined);
  const net = { id: NET, bridge: `weft-${NET.slice(0, 10)}`, subnet: '10.40.0.0/24', gateway: '10.40.0.1', mtu: 1450, mac: '7a:18:0a:28:00:00', internal: false, createdAt: 0 };
  const hostVeth = `wfh${EP.slice(0, 12)}`;
  const contVeth = `wfc${EP.slice(0, 12)}`;
  store.put('networks', NET, net);
  store.put('endpoints', EP, { id: EP, networkId: NET, hostVeth, containerVeth: contVeth, address: '10.40.0.5/24', mac: '02:42:0a:28:00:05', sandboxKey: '/x', createdAt: 0 });
  // as the namespace layout left it: bridge, gateway port, VXLAN port and the endpoint's host end there; its
  // container end inside the container; the gateway's end here
  await previous.createBridge({ name: net.bridge });
  await previous.createVeth({ name: hostVeth, peerName: contVeth, master: net.bridge, up: true, peerNetns: host.ref() });
  host.moveAway(contVeth);
  await previous.createVeth({ name: `wfb${NET.slice(0, 12)}`, peerName: `wfg${NET.slice(0, 12)}`, master: net.bridge, peerNetns: host.ref() });
  await host.createVxlan({ name: `wfv${NET.slice(0, 12)}`, vni: 9, port: 6784, learning: false, netns: previous.ref() });

  await new Reconciler({ networks, ipam, ns, firewall, clock, log: silentLogger, driver: 'weft' }).kernel();
  const bridge = await host.getLink(net.bridge);
  expect(await host.getLink(hostVeth)).toMatchObject({ kind: 'veth', up: true, masterIndex: bridge!.index });
  expect(await names(previous)).toEqual([]);
  expect((await host.listAddresses(`wfg${NET.slice(0, 12)}`)).map((a) => a.cidr)).toEqual(['10.40.0.1/24']);
  expect(firewall.allowed.get(net.bridge)).toBe('10.40.0.0/24');
  host.moveBack(contVeth);
  expect((await host.getLink(contVeth))?.kind).toBe('veth');
});
