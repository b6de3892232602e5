/** The daemon's choice of where bridges live (src/network/bridgeNamespace.ts), against the kernel. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCidr } from '../../src/addr/cidr';
import { FakeFirewall } from '../../src/firewall/fake';
import { Ipam, type IpamCollections } from '../../src/ipam/ipam';
import { ensureNetns, removeNetns, withNetns } from '../../src/netlink/netns';
import { openBridgeNamespace } from '../../src/network/bridgeNamespace';
import type { NetworkCollections } from '../../src/network/model';
import { Networks } from '../../src/network/networks';
import { Reconciler } from '../../src/network/reconciler';
import { MemoryStore } from '../../src/store/memory';
import { FakeScheduler } from '../../src/util/scheduler';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { SyscallError } from '../../src/util/syscall';
import { separate } from '../../src/network/namespaces';
import { silentLogger } from '../../src/util/log';
import { RecordingSysctl } from '../../src/util/sysctl';

jest.setTimeout(30_000);

const NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
let dir: string;
let pin: string;
let host: RtNetlink;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bridgens-'));
  pin = path.join(dir, 'weft');
  host = await RtNetlink.open();
});
afterAll(async () => {
  removeNetns(pin);
  fs.rmSync(dir, { recursive: true, force: true });
  await host.close();
});

test('a pinned namespace of its own: devices there unseen here, br_netfilter off there only, and still there after close', async () => {
  const a = await openBridgeNamespace(host, pin, silentLogger);
  expect(separate(a.ns)).toBe(true);
  expect(a.where).toBe(pin);
  expect(a.ns.host.nl).toBe(host);
  await a.ns.bridges.nl.createBridge({ name: 'kbn-br' });
  expect(await host.getLink('kbn-br')).toBeUndefined();
  // with br_netfilter in the kernel (built in here; Docker loads the module elsewhere): on here, off in weft's
  // namespace; without it there is nothing to turn off, and weft makes no file
  const inNs = withNetns(a.ns.bridges.ref, () => (fs.existsSync(NF) ? fs.readFileSync(NF, 'utf8').trim() : undefined));
  if (fs.existsSync(NF)) expect([fs.readFileSync(NF, 'utf8').trim(), inNs]).toEqual(['1', '0']);
  else expect(inNs).toBeUndefined();
  await a.close();
  // a daemon that starts again finds the namespace with what was left in it (running containers' veths)
  const b = await openBridgeNamespace(host, pin, silentLogger);
  expect((await b.ns.bridges.nl.getLink('kbn-br'))?.kind).toBe('bridge');
  await b.ns.bridges.nl.deleteLink('kbn-br');
  await b.close();
});

test('host, with the namespace an earlier weft pinned: it is offered as previous, and retired on request', async () => {
  const former = path.join(dir, 'former');
  const made = await openBridgeNamespace(host, former, silentLogger);
  await made.ns.bridges.nl.createBridge({ name: 'kbn-old' });
  await made.close();
  const h = await openBridgeNamespace(host, undefined, silentLogger, { former });
  expect(separate(h.ns)).toBe(false);
  expect((await h.ns.previous?.nl.getLink('kbn-old'))?.kind).toBe('bridge');
  await h.retirePrevious();
  expect(fs.existsSync(former)).toBe(false);
  await h.close();
  // nothing pinned there now: nothing offered
  const again = await openBridgeNamespace(host, undefined, silentLogger, { former });
  expect(again.ns.previous).toBeUndefined();
  await again.close();
});

test('host: one namespace, the host\'s', async () => {
  const h = await openBridgeNamespace(host, undefined, silentLogger);
  expect(separate(h.ns)).toBe(false);
  expect(h.ns.bridges.nl).toBe(host);
  expect(h.where).toBe('the host namespace (--bridges-netns host)');
  await h.close();
});

test('without the privilege to make one (EPERM): the host\'s namespace, with a warning; any other failure is an error', async () => {
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as typeof silentLogger;
  const eperm = () => {
    throw new SyscallError('unshare', pin, 'Operation not permitted', 'CAP_SYS_ADMIN is needed');
  };
  const h = await openBridgeNamespace(host, pin, log, { make: eperm });
  expect(separate(h.ns)).toBe(false);
  expect(h.where).toBe('the host namespace (no CAP_SYS_ADMIN to make one)');
  expect(warnings).toEqual([expect.stringContaining('without CAP_SYS_ADMIN')]);
  await h.close();
  const other = () => {
    throw new Error(`network namespace ${pin}: something else is there`);
  };
  await expect(openBridgeNamespace(host, pin, log, { make: other })).rejects.toThrow('something else is there');
});

test('taking over a host of the one-namespace layout: a running container\'s veth moves across, its interface whole', async () => {
  const id = 'c0ffee'.padEnd(64, '0');
  const ep = 'beef'.padEnd(64, '1');
  const bridge = `weft-${id.slice(0, 10)}`;
  const [hostVeth, contVeth] = [`wfh${ep.slice(0, 12)}`, `wfc${ep.slice(0, 12)}`];
  const containerPin = path.join(dir, 'container');
  const container = ensureNetns(containerPin);
  const inContainer = await RtNetlink.openIn(container);
  try {
    // what that layout left: its bridge with the gateway in the host's namespace, the endpoint's pair on it,
    // the container's end moved into the container by Docker
    await host.createBridge({ name: bridge, mac: '7a:18:0a:29:00:00' });
    await host.addAddress(bridge, '10.41.0.1/24');
    await host.createVeth({ name: hostVeth, peerName: contVeth, master: bridge, up: true, mtu: 1450 });
    await host.moveLink(contVeth, container);
    const before = (await inContainer.getLink(contVeth))!.index;

    const store = new MemoryStore<IpamCollections & NetworkCollections>();
    store.put('networks', id, { id, bridge, subnet: '10.41.0.0/24', gateway: '10.41.0.1', mtu: 1450, mac: '7a:18:0a:29:00:00', internal: false, createdAt: 0 });
    store.put('endpoints', ep, { id: ep, networkId: id, hostVeth, containerVeth: contVeth, address: '10.41.0.5/24', mac: '02:42:0a:29:00:05', sandboxKey: '/x', createdAt: 0 });
    const b = await openBridgeNamespace(host, pin, silentLogger);
    const clock = new FakeScheduler();
    const firewall = new FakeFirewall();
    const networks = new Networks({ store, ns: b.ns, firewall, clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl: new RecordingSysctl() });
    const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, () => undefined);
    await new Reconciler({ networks, ipam, ns: b.ns, firewall, clock, log: silentLogger, driver: 'weft' }).kernel();

    const newBridge = await b.ns.bridges.nl.getLink(bridge);
    expect(newBridge?.kind).toBe('bridge');
    expect(await b.ns.bridges.nl.getLink(hostVeth)).toMatchObject({ kind: 'veth', up: true, masterIndex: newBridge!.index });
    expect(await host.getLink(bridge)).toBeUndefined();
    expect(await host.getLink(hostVeth)).toBeUndefined();
    expect((await host.listAddresses(`wfg${id.slice(0, 12)}`)).map((a) => a.cidr)).toEqual(['10.41.0.1/24']);
    // the container's interface is the same one it had
    expect((await inContainer.getLink(contVeth))?.index).toBe(before);

    await networks.deleteNetwork(id);
    expect(await inContainer.getLink(contVeth)).toBeUndefined();
    await b.close();
  } finally {
    await inContainer.close();
    container.close();
    removeNetns(containerPin);
    await host.deleteLink(bridge).catch(() => undefined);
  }
});
