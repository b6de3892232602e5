/**
 * The Netlink contract as one behaviour suite, run on RtNetlink against the kernel
 * (test/kernel/netlink.behaviour.test.ts) and on FakeNetlink (test/unit/netlink/fake.behaviour.test.ts),
 * so the fake cannot drift from what the kernel really does.
 */
import { NetlinkError, type NetlinkErrorCode } from '../../src/netlink/errors';
import {
  ensureAddress, ensureBridge, ensureVeth, ensureVxlan, removeAddress, removeFdb, removeLink, removeNeighbour, removeRoute,
} from '../../src/netlink/ensure';
import type { FdbInfo, Netlink, NetnsRef, RouteInfo, RouteSpec } from '../../src/netlink/types';
import type { Probe } from './probe';

/**
 * nl works in the namespace `here` names; `there` is a second namespace with a Netlink of its own, for the
 * calls that reach across (closed by the suite).
 */
export interface Subject {
  nl: Netlink; probe: Probe; here: NetnsRef; there: { nl: Netlink; ref: NetnsRef };
}

const NUD_NOARP = 0x40; // a static bridge entry
const NUD_PERMANENT = 0x80; // a vxlan's own entry, or a port's own address in the bridge
const RTPROT_KERNEL = 2; // the kernel's own prefix route of an address
const RTPROT_BOOT = 3; // a route added without a protocol (iproute2's default)
const PROTO = 87; // a protocol of weft's choosing
const byMac = (a: { mac: string; dst?: string }, b: { mac: string; dst?: string }): number =>
  a.mac.localeCompare(b.mac) || (a.dst ?? '').localeCompare(b.dst ?? '');
/** the bridge's entries in a listFdb (the kernel also lists a plain device's multicast addresses as its own) */
const bridgeEntries = (fdb: FdbInfo[]): FdbInfo[] => fdb.filter((f) => !f.self).sort(byMac);

/** Resolves to the NetlinkError a promise rejects with (and fails the test if it resolves). */
export async function netlinkError(p: Promise<unknown>): Promise<NetlinkError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof NetlinkError)) throw new Error(`expected a NetlinkError, got ${String(e)}`);
  return e;
}

export async function expectCode(p: Promise<unknown>, code: NetlinkErrorCode): Promise<NetlinkError> {
  const e = await netlinkError(p);
  expect(e.code).toBe(code);
  return e;
}

/** `prefix` keeps names unique across test files sharing a namespace (<= 4 chars). */
export function describeNetlinkBehaviour(label: string, prefix: string, make: () => Promise<Subject>): void {
  describe(`Netlink behaviour: ${label}`, () => {
    let nl: Netlink;
    let probe: Probe;
    let here: NetnsRef;
    let there: { nl: Netlink; ref: NetnsRef };
    let names: string[] = [];
    /** routes that outlive the test's links (unreachable ones), removed after it */
    let routes: RouteSpec[] = [];
    let seq = 0;
    let net = 0;
    let wideNet = 0;
    /** a fresh unique device name, removed after the test */
    const dev = (tag: string): string => {
      const n = `${prefix}${seq}${tag}`;
      names.push(n);
      return n;
    };
    /** a fresh 10.x.y.0/24 subnet prefix, e.g. "10.201.3" */
    const subnet = (): string => `10.${200 + Math.floor(net / 250)}.${(net++ % 250) + 1}`;
    /** a fresh /16 apart from subnet()'s, its route removed after the test */
    const wide = (): string => {
      const dst = `10.${100 + (wideNet++ % 100)}.0.0/16`;
      routes.push({ dst });
      return dst;
    };
    /** an up link holding `${s}.1/24`, for on-link gateways (a bridge: this kernel has no dummy devices) */
    const onLink = async (s: string): Promise<{ name: string; index: number }> => {
      const name = dev(`ol${names.length}`);
      await nl.createBridge({ name });
      await nl.setLink(name, { up: true });
      await nl.addAddress(name, `${s}.1/24`);
      return { name, index: (await nl.getLink(name))!.index };
    };
    const routesTo = async (dst: string): Promise<RouteInfo[]> => (await nl.listRoutes()).filter((r) => r.dst === dst);

    beforeAll(async () => {
      ({ nl, probe, here, there } = await make());
    });
    afterAll(async () => {
      await nl.close();
      await there.nl.close();
    });
    beforeEach(() => {
      seq++;
      names = [];
      routes = [];
    });
    afterEach(async () => {
      for (const r of routes) await removeRoute(nl, r);
      for (const n of names.reverse()) {
        await removeLink(nl, n);
        await removeLink(there.nl, n);
      }
    });

    describe('links', () => {
      test('bridge: create, read back, list, delete', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br, mtu: 1400, mac: '02:AA:00:00:00:01' });
        const l = await nl.getLink(br);
        expect(l).toMatchObject({ name: br, kind: 'bridge', mtu: 1400, mac: '02:aa:00:00:00:01', up: false });
        expect(l?.masterIndex).toBeUndefined();
        expect(await probe.link(br)).toMatchObject({ kind: 'bridge', mtu: 1400, mac: '02:aa:00:00:00:01', up: false });
        expect((await nl.listLinks()).find((x) => x.name === br)?.index).toBe(l?.index);
        await nl.deleteLink(br);
        expect(await nl.getLink(br)).toBeUndefined();
        expect(await probe.link(br)).toBeUndefined();
      });

      test('duplicate name is EEXIST, naming the operation', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br });
        const e = await expectCode(nl.createBridge({ name: br }), 'EEXIST');
        expect(e.errno).toBe(17);
        expect(e.message).toBe(`create bridge ${br}: EEXIST (File exists)`);
        await expectCode(nl.createVeth({ name: br, peerName: dev('p') }), 'EEXIST');
        await expectCode(nl.createVeth({ name: dev('a'), peerName: br }), 'EEXIST');
        const same = dev('s');
        await expectCode(nl.createVeth({ name: same, peerName: same }), 'EEXIST');
      });

      test('unknown device is ENODEV; getLink gives undefined', async () => {
        const ghost = dev('gh');
        expect(await nl.getLink(ghost)).toBeUndefined();
        const e = await expectCode(nl.deleteLink(ghost), 'ENODEV');
        expect(e.errno).toBe(19);
        expect(e.message).toContain(`delete link ${ghost}: ENODEV`);
        await expectCode(nl.setLink(ghost, { up: true }), 'ENODEV');
        await expectCode(nl.addAddress(ghost, '10.0.0.1/24'), 'ENODEV');
        await expectCode(nl.listAddresses(ghost), 'ENODEV');
        await expectCode(nl.setNeighbour({ dev: ghost, ip: '10.0.0.2', mac: '02:00:00:00:00:02' }), 'ENODEV');
        await expectCode(nl.addFdb({ dev: ghost, mac: '00:00:00:00:00:00', dst: '192.0.2.1' }), 'ENODEV');
        await expectCode(nl.addRoute({ dst: '10.1.0.0/16', dev: ghost }), 'ENODEV');
        const br = dev('br');
        await nl.createBridge({ name: br });
        await expectCode(nl.createVxlan({ name: dev('vx'), vni: 1, port: 4789, learning: false, dev: ghost }), 'ENODEV');
        await expectCode(nl.setLink(br, { master: ghost }), 'ENODEV');
      });

      test('malformed input is EINVAL before anything changes', async () => {
        await expectCode(nl.createBridge({ name: 'a-name-far-too-long' }), 'EINVAL');
        await expectCode(nl.createBridge({ name: '' }), 'EINVAL');
        await expectCode(nl.createBridge({ name: 'a/b' }), 'EINVAL');
        await expectCode(nl.createVeth({ name: dev('ok'), peerName: 'x y' }), 'EINVAL');
        expect(await nl.getLink('no:such')).toBeUndefined();
        await expectCode(nl.createBridge({ name: dev('br'), mac: '02:00:00:00:00' }), 'EINVAL');
        const br = dev('b2');
        await nl.createBridge({ name: br });
        await expectCode(nl.addAddress(br, '10.0.0.1'), 'EINVAL');
        await expectCode(nl.addAddress(br, '10.0.0.256/24'), 'EINVAL');
        await expectCode(nl.addAddress(br, '10.0.0.1/33'), 'EINVAL');
        await expectCode(nl.setNeighbour({ dev: br, ip: '10.0.0.2', mac: 'zz:00:00:00:00:02' }), 'EINVAL');
        await expectCode(nl.addRoute({ dst: '10.1.0.1/16', dev: br }), 'EINVAL'); // host bits set
        expect(await nl.getLink(names[0]!)).toBeUndefined();
      });

      test('kernel-side validation: MTU range, multicast MAC, VNI range, lo on a bridge', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br });
        await expectCode(nl.createBridge({ name: dev('b2'), mtu: 40 }), 'EINVAL');
        await expectCode(nl.createBridge({ name: dev('b3'), mac: '01:00:5e:00:00:01' }), 'EADDRNOTAVAIL');
        await expectCode(nl.setLink(br, { mtu: 40 }), 'EINVAL');
        await expectCode(nl.setLink(br, { mac: '01:00:00:00:00:01' }), 'EADDRNOTAVAIL');
        await expectCode(nl.setLink(br, { mac: '00:00:00:00:00:00' }), 'EADDRNOTAVAIL');
        await expectCode(nl.createVxlan({ name: dev('vx'), vni: 1 << 24, port: 4789, learning: false }), 'ERANGE');
        await expectCode(nl.setLink('lo', { master: br }), 'EINVAL');
        const b4 = dev('b4');
        await nl.createBridge({ name: b4 });
        const loop = await expectCode(nl.setLink(b4, { master: br }), 'EUNKNOWN');
        expect(loop.errno).toBe(40); // ELOOP
      });

      test('setLink: up/down, mtu, mac', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br });
        await nl.setLink(br, { up: true, mtu: 9000, mac: '02:bb:00:00:00:02' });
        expect(await nl.getLink(br)).toMatchObject({ up: true, mtu: 9000, mac: '02:bb:00:00:00:02' });
        expect(await probe.link(br)).toMatchObject({ up: true, mtu: 9000, mac: '02:bb:00:00:00:02' });
        await nl.setLink(br, { up: false });
        expect(await nl.getLink(br)).toMatchObject({ up: false, mtu: 9000 });
        await nl.setLink(br, {}); // no change is fine
      });

      test('setLink: gsoMaxSize (a fresh link has 65536); ERANGE below the minimum, EINVAL above the device\'s TSO limit', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br });
        expect((await nl.getLink(br))?.gsoMaxSize).toBe(65536);
        await nl.setLink(br, { gsoMaxSize: 16000, mtu: 1400 });
        expect(await nl.getLink(br)).toMatchObject({ gsoMaxSize: 16000, mtu: 1400 });
        await nl.setLink(br, { gsoMaxSize: 65525 });
        expect((await nl.getLink(br))?.gsoMaxSize).toBe(65525);
        // a portless bridge's tso_max_size is the legacy 64 KiB; nothing of a refused request applies
        await expectCode(nl.setLink(br, { gsoMaxSize: 65537, mtu: 1300 }), 'EINVAL');
        await expectCode(nl.setLink(br, { gsoMaxSize: 0 }), 'ERANGE');
        expect(await nl.getLink(br)).toMatchObject({ gsoMaxSize: 65525, mtu: 1400 });
      });

      test('veth: both ends exist, named right; master set/release; deleting one end deletes both', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: a, peerName: b, mtu: 1420, mac: '02:cc:00:00:00:0a', peerMac: '02:cc:00:00:00:0b' });
        const [la, lb] = [await nl.getLink(a), await nl.getLink(b)];
        expect(la).toMatchObject({ kind: 'veth', mtu: 1420, mac: '02:cc:00:00:00:0a' });
        expect(lb).toMatchObject({ kind: 'veth', mtu: 1420, mac: '02:cc:00:00:00:0b' });
        expect(await probe.link(b)).toMatchObject({ name: b, kind: 'veth', mac: '02:cc:00:00:00:0b' });

        await nl.setLink(a, { master: br, up: true });
        const bridge = await nl.getLink(br);
        expect((await nl.getLink(a))?.masterIndex).toBe(bridge?.index);
        expect(await probe.link(a)).toMatchObject({ master: br, up: true });
        await nl.setLink(a, { master: null });
        expect((await nl.getLink(a))?.masterIndex).toBeUndefined();
        expect((await probe.link(a))?.master).toBeUndefined();

        await nl.deleteLink(b);
        expect(await nl.getLink(a)).toBeUndefined();
        expect(await probe.link(a)).toBeUndefined();
      });

      test('veth made up and on its bridge in one request; the peer stays down; a missing bridge makes nothing', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: a, peerName: b, mtu: 1400, master: br, up: true });
        const bridge = await nl.getLink(br);
        expect(await nl.getLink(a)).toMatchObject({ up: true, mtu: 1400, masterIndex: bridge?.index });
        expect(await probe.link(a)).toMatchObject({ master: br, up: true });
        expect(await nl.getLink(b)).toMatchObject({ up: false });
        expect((await nl.getLink(b))?.masterIndex).toBeUndefined();

        const [c, d] = [dev('vc'), dev('vd')];
        expect((await netlinkError(nl.createVeth({ name: c, peerName: d, master: dev('nobr'), up: true }))).code).toBe('ENODEV');
        expect(await nl.getLink(c)).toBeUndefined();
        expect(await nl.getLink(d)).toBeUndefined();
      });

      test('deleting a bridge releases its ports', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: a, peerName: b });
        await nl.setLink(a, { master: br });
        await nl.deleteLink(br);
        const l = await nl.getLink(a);
        expect(l).toBeDefined();
        expect(l?.masterIndex).toBeUndefined();
        expect((await probe.link(a))?.master).toBeUndefined();
      });

      test('vxlan: vni/port/learning/local/dev read back; duplicate VNI is EEXIST', async () => {
        const br = dev('br');
        await nl.createBridge({ name: br, mtu: 1500 });
        const [v1, v2, v3] = [dev('x1'), dev('x2'), dev('x3')];
        await nl.createVxlan({ name: v1, vni: 4242, port: 6784, learning: false, local: '192.0.2.10', dev: br });
        await nl.createVxlan({ name: v2, vni: 4243, port: 4789, learning: true, mtu: 1400 });
        const l1 = await nl.getLink(v1);
        expect(l1).toMatchObject({ kind: 'vxlan', mtu: 1450 });
        expect(l1?.vxlan).toEqual({
          vni: 4242, port: 6784, learning: false, proxy: false, local: '192.0.2.10', dev: (await nl.getLink(br))?.index,
        });
        expect((await nl.getLink(v2))?.vxlan).toEqual({ vni: 4243, port: 4789, learning: true, proxy: false });
        expect((await nl.getLink(v2))?.mtu).toBe(1400);
        // toMatchObject: `ip` shows proxy only when it is on (rtnetlink.test.ts checks it there)
        expect((await probe.link(v1))?.vxlan).toMatchObject({ vni: 4242, port: 6784, learning: false, local: '192.0.2.10', dev: br });
        expect((await probe.link(v2))?.vxlan).toMatchObject({ vni: 4243, port: 4789, learning: true });
        await expectCode(nl.createVxlan({ name: v3, vni: 4243, port: 4789, learning: true }), 'EEXIST');
        // the underlay going away takes the vxlan with it
        await nl.deleteLink(br);
        expect(await nl.getLink(v1)).toBeUndefined();
      });

      test('vxlan: proxy ARP and a given MAC read back; proxy takes part in ensureVxlan', async () => {
        const [v1, v2] = [dev('x1'), dev('x2')];
        await nl.createVxlan({ name: v1, vni: 4300 + seq, port: 4789, learning: false, proxy: true, mac: '02:ee:00:00:00:01' });
        await nl.createVxlan({ name: v2, vni: 4400 + seq, port: 4789, learning: false, proxy: false });
        expect(await nl.getLink(v1)).toMatchObject({ mac: '02:ee:00:00:00:01', vxlan: { vni: 4300 + seq, learning: false, proxy: true } });
        expect((await nl.getLink(v2))?.vxlan?.proxy).toBe(false);
        expect((await probe.link(v1))?.mac).toBe('02:ee:00:00:00:01');
        const spec = { name: v2, vni: 4400 + seq, port: 4789, learning: false };
        expect(await ensureVxlan(nl, spec)).toBe('unchanged'); // proxy unset means off
        expect(await ensureVxlan(nl, { ...spec, proxy: true })).toBe('created');
        expect((await nl.getLink(v2))?.vxlan?.proxy).toBe(true);
        const multicast = { name: dev('x3'), vni: 4500 + seq, port: 4789, learning: false, mac: '01:00:00:00:00:01' };
        await expectCode(nl.createVxlan(multicast), 'EADDRNOTAVAIL');
      });
    });

    describe('bridge ports', () => {
      test('setBridgePort on a vxlan and a veth port: defaults, change, partial change, read back', async () => {
        const br = dev('br');
        const vx = dev('vx');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVxlan({ name: vx, vni: 4600 + seq, port: 4789, learning: false });
        await nl.createVeth({ name: a, peerName: b });
        expect((await nl.getLink(vx))?.bridgePort).toBeUndefined();
        for (const port of [vx, a]) await nl.setLink(port, { master: br });
        for (const port of [vx, a]) expect((await nl.getLink(port))?.bridgePort).toEqual({ learning: true, isolated: false });

        await nl.setBridgePort(vx, { learning: false, isolated: true });
        await nl.setBridgePort(a, { learning: false });
        expect((await nl.getLink(vx))?.bridgePort).toEqual({ learning: false, isolated: true });
        expect((await nl.getLink(a))?.bridgePort).toEqual({ learning: false, isolated: false });
        await nl.setBridgePort(a, { isolated: true });
        await nl.setBridgePort(a, {});
        expect((await nl.getLink(a))?.bridgePort).toEqual({ learning: false, isolated: true });
        const listed = (await nl.listLinks()).find((l) => l.name === vx);
        expect(listed?.bridgePort).toEqual({ learning: false, isolated: true });
        expect((await nl.getLink(br))?.bridgePort).toBeUndefined();
      });

      test('setBridgePort off a bridge is EOPNOTSUPP, on no device ENODEV; leaving the bridge drops the flags', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: a, peerName: b });
        await expectCode(nl.setBridgePort(a, { learning: false }), 'EOPNOTSUPP');
        await expectCode(nl.setBridgePort(br, { learning: false }), 'EOPNOTSUPP');
        await expectCode(nl.setBridgePort(dev('gh'), { learning: false }), 'ENODEV');
        await nl.setLink(a, { master: br });
        await nl.setBridgePort(a, { learning: false, isolated: true });
        await nl.setLink(a, { master: br }); // the same master again keeps the port as it is
        expect((await nl.getLink(a))?.bridgePort).toEqual({ learning: false, isolated: true });
        await nl.setLink(a, { master: null });
        expect((await nl.getLink(a))?.bridgePort).toBeUndefined();
        await expectCode(nl.setBridgePort(a, { isolated: false }), 'EOPNOTSUPP');
        await nl.setLink(a, { master: br });
        expect((await nl.getLink(a))?.bridgePort).toEqual({ learning: true, isolated: false });
      });

      test('a port moved to another bridge: fresh flags, its entries only in the new bridge', async () => {
        const [b1, b2] = [dev('b1'), dev('b2')];
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: b1 });
        await nl.createBridge({ name: b2 });
        await nl.createVeth({ name: a, peerName: b, mac: '02:ee:00:00:00:5a' });
        await nl.setLink(a, { master: b1 });
        await nl.setBridgePort(a, { learning: false, isolated: true });
        await nl.setFdb({ dev: a, mac: '02:00:00:00:00:51', master: true });
        await nl.setLink(a, { master: b2 });
        expect((await nl.getLink(a))?.bridgePort).toEqual({ learning: true, isolated: false });
        const b2i = (await nl.getLink(b2))?.index;
        expect(bridgeEntries(await nl.listFdb(a)).map((f) => [f.mac, f.master])).toEqual([['02:ee:00:00:00:5a', b2i]]);
        expect((await nl.listFdb()).filter((f) => f.mac === '02:00:00:00:00:51')).toEqual([]);
      });
    });

    describe('addresses', () => {
      test('add, list, duplicate, delete', async () => {
        const br = dev('br');
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.addAddress(br, `${s}.1/24`);
        await nl.addAddress(br, `${s}.2/32`);
        const index = (await nl.getLink(br))?.index;
        expect(await nl.listAddresses(br)).toEqual(expect.arrayContaining([
          { ifindex: index, cidr: `${s}.1/24` }, { ifindex: index, cidr: `${s}.2/32` },
        ]));
        expect((await nl.listAddresses(br))).toHaveLength(2);
        expect((await nl.listAddresses()).filter((a) => a.ifindex === index)).toHaveLength(2);
        expect((await probe.addresses(br)).sort()).toEqual([`${s}.1/24`, `${s}.2/32`]);
        await expectCode(nl.addAddress(br, `${s}.1/24`), 'EEXIST');
        await nl.deleteAddress(br, `${s}.1/24`);
        expect(await probe.addresses(br)).toEqual([`${s}.2/32`]);
        await expectCode(nl.deleteAddress(br, `${s}.1/24`), 'EADDRNOTAVAIL');
      });

      test('deleting the link removes its addresses', async () => {
        const br = dev('br');
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.addAddress(br, `${s}.1/24`);
        const index = (await nl.getLink(br))?.index;
        await nl.deleteLink(br);
        expect((await nl.listAddresses()).filter((a) => a.ifindex === index)).toEqual([]);
      });
    });

    describe('routes', () => {
      test('connected route, add via gateway and on-link, duplicate, delete, missing delete', async () => {
        const br = dev('br');
        const s = subnet();
        const far = subnet();
        const link = subnet();
        await nl.createBridge({ name: br });
        await nl.setLink(br, { up: true });
        await nl.addAddress(br, `${s}.1/24`);
        const index = (await nl.getLink(br))?.index;
        const connected = { dst: `${s}.0/24`, ifindex: index, table: 254, protocol: RTPROT_KERNEL, type: 'unicast' };
        expect(await nl.listRoutes()).toContainEqual(connected);

        await nl.addRoute({ dst: `${far}.0/24`, gateway: `${s}.9` });
        await nl.addRoute({ dst: `${link}.0/24`, dev: br });
        const routes = await nl.listRoutes();
        const boot = { ifindex: index, table: 254, protocol: RTPROT_BOOT, type: 'unicast' };
        expect(routes).toContainEqual({ dst: `${far}.0/24`, gateway: `${s}.9`, ...boot });
        expect(routes).toContainEqual({ dst: `${link}.0/24`, ...boot });
        expect(await probe.routes()).toContainEqual({ dst: `${far}.0/24`, gateway: `${s}.9`, dev: br });
        expect(await probe.routes()).toContainEqual({ dst: `${link}.0/24`, dev: br });
        await expectCode(nl.addRoute({ dst: `${far}.0/24`, gateway: `${s}.9` }), 'EEXIST');
        await expectCode(nl.addRoute({ dst: `${s}.0/24`, gateway: `${s}.9` }), 'EEXIST');

        await nl.deleteRoute({ dst: `${far}.0/24`, gateway: `${s}.9` });
        await nl.deleteRoute({ dst: `${link}.0/24`, dev: br });
        expect((await nl.listRoutes()).map((r) => r.dst)).not.toContain(`${far}.0/24`);
        expect((await probe.routes()).map((r) => r.dst)).not.toContain(`${link}.0/24`);
        const e = await expectCode(nl.deleteRoute({ dst: `${far}.0/24` }), 'ESRCH');
        expect(e.errno).toBe(3);
      });

      test('default route via a gateway', async () => {
        const br = dev('br');
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.setLink(br, { up: true });
        await nl.addAddress(br, `${s}.1/24`);
        await nl.addRoute({ dst: '0.0.0.0/0', gateway: `${s}.254`, dev: br });
        expect(await nl.listRoutes()).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gateway: `${s}.254` }));
        expect(await probe.routes()).toContainEqual({ dst: '0.0.0.0/0', gateway: `${s}.254`, dev: br });
        await nl.deleteRoute({ dst: '0.0.0.0/0', gateway: `${s}.254` });
        expect((await nl.listRoutes()).map((r) => r.dst)).not.toContain('0.0.0.0/0');
      });

      test('unreachable gateway, down device; link down flushes its routes', async () => {
        const br = dev('br');
        const s = subnet();
        const far = subnet();
        await nl.createBridge({ name: br });
        await nl.addAddress(br, `${s}.1/24`);
        const down = await expectCode(nl.addRoute({ dst: `${far}.0/24`, dev: br }), 'EUNKNOWN');
        expect(down.errno).toBe(100); // ENETDOWN
        await nl.setLink(br, { up: true });
        const unreach = await expectCode(nl.addRoute({ dst: `${far}.0/24`, gateway: '192.0.2.77' }), 'EUNKNOWN');
        expect(unreach.errno).toBe(101); // ENETUNREACH
        await nl.addRoute({ dst: `${far}.0/24`, gateway: `${s}.7` });
        await nl.setLink(br, { up: false });
        const dsts = (await nl.listRoutes()).map((r) => r.dst);
        expect(dsts).not.toContain(`${far}.0/24`);
        expect(dsts).not.toContain(`${s}.0/24`);
      });
    });

    describe('routes: replace, protocol, unreachable', () => {
      test('replaceRoute creates, then overwrites the route to dst whatever its nexthop: gateway, other gateway, dev, back', async () => {
        const s = subnet();
        const dst = `${subnet()}.0/24`;
        const { name: d, index } = await onLink(s);
        const unicast = { table: 254, protocol: RTPROT_BOOT, type: 'unicast' };
        await nl.replaceRoute({ dst, gateway: `${s}.2` });
        expect(await routesTo(dst)).toEqual([{ dst, gateway: `${s}.2`, ifindex: index, ...unicast }]);
        await nl.replaceRoute({ dst, gateway: `${s}.3` });
        expect(await routesTo(dst)).toEqual([{ dst, gateway: `${s}.3`, ifindex: index, ...unicast }]);
        expect(await probe.routes()).toContainEqual({ dst, gateway: `${s}.3`, dev: d });
        await nl.replaceRoute({ dst, dev: d });
        expect(await routesTo(dst)).toEqual([{ dst, ifindex: index, ...unicast }]);
        expect(await probe.routes()).toContainEqual({ dst, dev: d });
        await nl.replaceRoute({ dst, gateway: `${s}.2`, dev: d, protocol: PROTO });
        expect(await routesTo(dst)).toEqual([{ dst, gateway: `${s}.2`, ifindex: index, ...unicast, protocol: PROTO }]);
        await nl.replaceRoute({ dst, gateway: `${s}.2`, dev: d, protocol: PROTO }); // the same again changes nothing
        expect(await routesTo(dst)).toHaveLength(1);
        await expectCode(nl.addRoute({ dst, gateway: `${s}.3` }), 'EEXIST');

        // checked as an add is, and a refused one leaves the route as it was
        const unreach = await expectCode(nl.replaceRoute({ dst, gateway: '192.0.2.77' }), 'EUNKNOWN');
        expect(unreach.errno).toBe(101); // ENETUNREACH
        await expectCode(nl.replaceRoute({ dst, dev: dev('gh') }), 'ENODEV');
        await expectCode(nl.replaceRoute({ dst: '10.1.0.1/16', dev: d }), 'EINVAL');
        expect(await routesTo(dst)).toEqual([{ dst, gateway: `${s}.2`, ifindex: index, ...unicast, protocol: PROTO }]);
        await nl.deleteRoute({ dst });
        expect(await routesTo(dst)).toEqual([]);
      });

      test('protocol: as given (87), boot when unset, kernel for connected routes; a delete matches any protocol', async () => {
        const s = subnet();
        const [a, b] = [`${subnet()}.0/24`, `${subnet()}.0/24`];
        const { name: d } = await onLink(s);
        await nl.addRoute({ dst: a, gateway: `${s}.2`, protocol: PROTO });
        await nl.addRoute({ dst: b, dev: d });
        const protocols = new Map((await nl.listRoutes()).map((r) => [r.dst, r.protocol]));
        expect([protocols.get(a), protocols.get(b), protocols.get(`${s}.0/24`)]).toEqual([PROTO, RTPROT_BOOT, RTPROT_KERNEL]);
        await nl.deleteRoute({ dst: a, protocol: RTPROT_BOOT });
        await nl.deleteRoute({ dst: b, protocol: PROTO });
        expect(await routesTo(a)).toEqual([]);
        expect(await routesTo(b)).toEqual([]);
      });

      test('an unreachable /16: listed as unreachable with its protocol and no nexthop, outlives links, deleted again', async () => {
        const s = subnet();
        const dst = wide();
        const { name: d } = await onLink(s);
        await nl.addRoute({ dst, type: 'unreachable', protocol: PROTO });
        expect(await routesTo(dst)).toEqual([{ dst, table: 254, protocol: PROTO, type: 'unreachable' }]);
        expect(await probe.routes()).toContainEqual({ dst });
        // EXCL clashes with any route to the prefix; a nexthop is no part of an unreachable route
        await expectCode(nl.addRoute({ dst, type: 'unreachable' }), 'EEXIST');
        await expectCode(nl.addRoute({ dst, dev: d }), 'EEXIST');
        await expectCode(nl.addRoute({ dst: wide(), type: 'unreachable', gateway: `${s}.2` }), 'EINVAL');
        await expectCode(nl.replaceRoute({ dst, type: 'unreachable', dev: d }), 'EINVAL');
        await nl.setLink(d, { up: false });
        await nl.deleteLink(d);
        expect(await routesTo(dst)).toEqual([{ dst, table: 254, protocol: PROTO, type: 'unreachable' }]);
        // a delete with a type matches that type only
        await expectCode(nl.deleteRoute({ dst, type: 'unicast' }), 'ESRCH');
        await nl.deleteRoute({ dst, type: 'unreachable' });
        expect(await routesTo(dst)).toEqual([]);
        await nl.addRoute({ dst, type: 'unreachable' });
        expect(await routesTo(dst)).toEqual([{ dst, table: 254, protocol: RTPROT_BOOT, type: 'unreachable' }]);
        await nl.deleteRoute({ dst });
        await expectCode(nl.deleteRoute({ dst }), 'ESRCH');
      });

      test('metrics: two routes to one /32 coexist (10 by dev, 20 via a gateway); replace, EEXIST and delete keep to one metric', async () => {
        const s = subnet();
        const dst = `${subnet()}.9/32`;
        const { name: d, index } = await onLink(s);
        await nl.replaceRoute({ dst, dev: d, protocol: PROTO, priority: 10 });
        await nl.replaceRoute({ dst, gateway: `${s}.2`, protocol: PROTO, priority: 20 });
        const both = [
          { dst, ifindex: index, table: 254, protocol: PROTO, type: 'unicast', priority: 10 },
          { dst, gateway: `${s}.2`, ifindex: index, table: 254, protocol: PROTO, type: 'unicast', priority: 20 },
        ];
        expect(await routesTo(dst)).toEqual(both);
        // the metric-20 route moves to another gateway; the metric-10 one stays as it is
        await nl.replaceRoute({ dst, gateway: `${s}.3`, protocol: PROTO, priority: 20 });
        expect(await routesTo(dst)).toEqual([both[0], { ...both[1], gateway: `${s}.3` }]);
        await expectCode(nl.addRoute({ dst, dev: d, priority: 10 }), 'EEXIST');
        await expectCode(nl.deleteRoute({ dst, gateway: `${s}.2`, priority: 20 }), 'ESRCH');
        await nl.deleteRoute({ dst, gateway: `${s}.3`, priority: 20 });
        expect(await routesTo(dst)).toEqual([both[0]]);
        await nl.addRoute({ dst, gateway: `${s}.2`, priority: 20 });
        // a delete without a metric takes the lowest
        await nl.deleteRoute({ dst });
        expect((await routesTo(dst)).map((r) => r.priority)).toEqual([20]);
        await nl.deleteRoute({ dst, priority: 20 });
        expect(await routesTo(dst)).toEqual([]);
      });

      test('replace turns a unicast route unreachable and back', async () => {
        const s = subnet();
        const dst = wide();
        const { index } = await onLink(s);
        await nl.addRoute({ dst, gateway: `${s}.2`, protocol: PROTO });
        await nl.replaceRoute({ dst, type: 'unreachable', protocol: PROTO });
        expect(await routesTo(dst)).toEqual([{ dst, table: 254, protocol: PROTO, type: 'unreachable' }]);
        await nl.replaceRoute({ dst, gateway: `${s}.3`, type: 'unicast' });
        const boot = { table: 254, protocol: RTPROT_BOOT, type: 'unicast' };
        expect(await routesTo(dst)).toEqual([{ dst, gateway: `${s}.3`, ifindex: index, ...boot }]);
      });

      test('a delete with a gateway or dev matches only that nexthop (ESRCH otherwise); without, any', async () => {
        const [s, t] = [subnet(), subnet()];
        const [dst, other] = [`${subnet()}.0/24`, `${subnet()}.0/24`];
        const { name: d } = await onLink(s);
        const { name: e } = await onLink(t);
        await nl.addRoute({ dst, gateway: `${s}.2` });
        await nl.addRoute({ dst: other, dev: d });
        const wrong = await expectCode(nl.deleteRoute({ dst, gateway: `${s}.3` }), 'ESRCH');
        expect(wrong.errno).toBe(3);
        await expectCode(nl.deleteRoute({ dst, dev: e }), 'ESRCH');
        await expectCode(nl.deleteRoute({ dst: other, gateway: `${s}.2` }), 'ESRCH'); // an on-link route has no gateway
        expect(await routesTo(dst)).toHaveLength(1);
        await nl.deleteRoute({ dst, gateway: `${s}.2`, dev: d });
        await nl.deleteRoute({ dst: other });
        expect([...await routesTo(dst), ...await routesTo(other)]).toEqual([]);
      });
    });

    describe('neighbours', () => {
      test('set, replace, list, delete, missing delete', async () => {
        const br = dev('br');
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.setLink(br, { up: true });
        await nl.addAddress(br, `${s}.1/24`);
        const index = (await nl.getLink(br))?.index;
        // the kernel adds NOARP entries of its own (e.g. 224.0.0.22 for IGMP): look at our subnet only
        const ours = async (d?: string) => (await nl.listNeighbours(d)).filter((n) => n.ip.startsWith(`${s}.`));
        await nl.setNeighbour({ dev: br, ip: `${s}.5`, mac: '02:00:00:00:00:05' });
        expect(await ours(br)).toEqual([{ ifindex: index, ip: `${s}.5`, mac: '02:00:00:00:00:05', state: 0x80 }]);
        await nl.setNeighbour({ dev: br, ip: `${s}.5`, mac: '02:00:00:00:00:55' });
        expect(await ours(br)).toEqual([{ ifindex: index, ip: `${s}.5`, mac: '02:00:00:00:00:55', state: 0x80 }]);
        expect(await probe.neighbours(br)).toEqual([{ ip: `${s}.5`, mac: '02:00:00:00:00:55', permanent: true }]);
        expect((await ours()).filter((n) => n.ifindex === index)).toHaveLength(1);
        await nl.deleteNeighbour({ dev: br, ip: `${s}.5` });
        expect(await ours(br)).toEqual([]);
        expect(await probe.neighbours(br)).toEqual([]);
        await expectCode(nl.deleteNeighbour({ dev: br, ip: `${s}.5` }), 'ENOENT');
      });

      test('link down flushes permanent entries too', async () => {
        const br = dev('br');
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.setLink(br, { up: true });
        await nl.setNeighbour({ dev: br, ip: `${s}.6`, mac: '02:00:00:00:00:06' });
        await nl.setLink(br, { up: false });
        expect((await nl.listNeighbours(br)).filter((n) => n.ip === `${s}.6`)).toEqual([]);
      });
    });

    describe('fdb', () => {
      test('all-zero MAC with two dsts (head-end replication), append is idempotent, delete one then the other', async () => {
        const vx = dev('vx');
        await nl.createVxlan({ name: vx, vni: 7100 + seq, port: 6784, learning: false });
        const index = (await nl.getLink(vx))?.index;
        const zero = '00:00:00:00:00:00';
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.1' });
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.2' });
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.2' });
        const entries = await nl.listFdb(vx);
        expect(entries).toHaveLength(2);
        expect(entries).toEqual(expect.arrayContaining([
          { ifindex: index, mac: zero, dst: '192.0.2.1', self: true, state: NUD_PERMANENT },
          { ifindex: index, mac: zero, dst: '192.0.2.2', self: true, state: NUD_PERMANENT },
        ]));
        expect((await probe.fdb(vx)).sort((a, b) => (a.dst ?? '').localeCompare(b.dst ?? ''))).toEqual([
          { mac: zero, dst: '192.0.2.1' }, { mac: zero, dst: '192.0.2.2' },
        ]);
        expect((await nl.listFdb()).filter((f) => f.ifindex === index)).toHaveLength(2);

        await nl.deleteFdb({ dev: vx, mac: zero, dst: '192.0.2.1' });
        expect(await probe.fdb(vx)).toEqual([{ mac: zero, dst: '192.0.2.2' }]);
        await nl.deleteFdb({ dev: vx, mac: zero, dst: '192.0.2.9' }); // unknown dst on a known MAC: ignored
        expect(await nl.listFdb(vx)).toHaveLength(1);
        await nl.deleteFdb({ dev: vx, mac: zero, dst: '192.0.2.2' });
        expect(await nl.listFdb(vx)).toEqual([]);
        await expectCode(nl.deleteFdb({ dev: vx, mac: zero, dst: '192.0.2.2' }), 'ENOENT');
      });

      test('a unicast MAC keeps its first dst (append only adds remotes to zero/multicast MACs)', async () => {
        const vx = dev('vx');
        await nl.createVxlan({ name: vx, vni: 7200 + seq, port: 6784, learning: false });
        await nl.addFdb({ dev: vx, mac: '02:00:00:00:00:09', dst: '192.0.2.1' });
        await nl.addFdb({ dev: vx, mac: '02:00:00:00:00:09', dst: '192.0.2.2' });
        expect((await nl.listFdb(vx)).map((f) => f.dst)).toEqual(['192.0.2.1']);
        // so moving a MAC is delete + add
        await nl.deleteFdb({ dev: vx, mac: '02:00:00:00:00:09', dst: '192.0.2.1' });
        await nl.addFdb({ dev: vx, mac: '02:00:00:00:00:09', dst: '192.0.2.2' });
        expect(await probe.fdb(vx)).toEqual([{ mac: '02:00:00:00:00:09', dst: '192.0.2.2' }]);
      });

      test('setFdb with dst replaces a unicast MAC\'s one dst in place; the flood list cannot be replaced', async () => {
        const vx = dev('vx');
        await nl.createVxlan({ name: vx, vni: 7600 + seq, port: 6784, learning: false });
        const index = (await nl.getLink(vx))?.index;
        const mac = '02:00:00:00:00:0a';
        await nl.setFdb({ dev: vx, mac, dst: '192.0.2.1' }); // creates
        await nl.setFdb({ dev: vx, mac: mac.toUpperCase(), dst: '192.0.2.2' });
        expect(await nl.listFdb(vx)).toEqual([{ ifindex: index, mac, dst: '192.0.2.2', self: true, state: NUD_PERMANENT }]);
        expect(await probe.fdb(vx)).toEqual([{ mac, dst: '192.0.2.2' }]);
        await nl.setFdb({ dev: vx, mac, dst: '192.0.2.2' }); // the same again is fine
        expect(await nl.listFdb(vx)).toHaveLength(1);

        const zero = '00:00:00:00:00:00';
        await expectCode(nl.setFdb({ dev: vx, mac: zero, dst: '192.0.2.3' }), 'EOPNOTSUPP');
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.3' });
        await expectCode(nl.setFdb({ dev: vx, mac: zero, dst: '192.0.2.4' }), 'EOPNOTSUPP');
        await expectCode(nl.setFdb({ dev: vx, mac: '01:00:5e:00:00:05', dst: '192.0.2.4' }), 'EOPNOTSUPP');
        expect((await probe.fdb(vx)).sort(byMac)).toEqual([{ mac: zero, dst: '192.0.2.3' }, { mac, dst: '192.0.2.2' }]);
      });

      test('setFdb master: a static bridge entry that moves between ports; a port\'s own address is listed too', async () => {
        const br = dev('br');
        const vx = dev('vx');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVxlan({ name: vx, vni: 7700 + seq, port: 6784, learning: false, mac: '02:ee:00:00:00:0a' });
        await nl.createVeth({ name: a, peerName: b, mac: '02:ee:00:00:00:0b' });
        for (const port of [vx, a]) await nl.setLink(port, { master: br });
        const [bri, vxi, ai] = [(await nl.getLink(br))?.index, (await nl.getLink(vx))?.index, (await nl.getLink(a))?.index];
        const own = (ifindex: number | undefined, mac: string): FdbInfo =>
          ({ ifindex: ifindex!, mac, state: NUD_PERMANENT, self: false, master: bri! });
        expect(bridgeEntries(await nl.listFdb(vx))).toEqual([own(vxi, '02:ee:00:00:00:0a')]);
        expect(bridgeEntries(await nl.listFdb(a))).toEqual([own(ai, '02:ee:00:00:00:0b')]);

        const mac = '02:00:00:00:00:0c';
        const statics = (ifindex: number | undefined): FdbInfo => ({ ifindex: ifindex!, mac, state: NUD_NOARP, self: false, master: bri! });
        await nl.setFdb({ dev: vx, mac, master: true });
        expect(bridgeEntries(await nl.listFdb(vx))).toEqual([statics(vxi), own(vxi, '02:ee:00:00:00:0a')]);
        expect((await probe.fdb(vx)).sort(byMac)).toEqual([{ mac }, { mac: '02:ee:00:00:00:0a' }]);
        await nl.setFdb({ dev: vx, mac, master: true }); // idempotent
        await nl.setFdb({ dev: a, mac: mac.toUpperCase(), master: true }); // moves
        expect(bridgeEntries(await nl.listFdb(vx))).toEqual([own(vxi, '02:ee:00:00:00:0a')]);
        expect(bridgeEntries(await nl.listFdb(a))).toEqual([statics(ai), own(ai, '02:ee:00:00:00:0b')]);
        expect((await probe.fdb(a)).map((f) => f.mac)).toContain(mac);
        expect((await nl.listFdb()).filter((f) => f.mac === mac)).toEqual([statics(ai)]);

        // a multicast MAC is taken; the bridge itself is no port; the all-zero MAC is no address
        await nl.setFdb({ dev: a, mac: '01:00:5e:00:00:0c', master: true });
        expect(bridgeEntries(await nl.listFdb(a)).map((f) => [f.mac, f.state])).toContainEqual(['01:00:5e:00:00:0c', NUD_NOARP]);
        await expectCode(nl.setFdb({ dev: br, mac, master: true }), 'EOPNOTSUPP');
        await expectCode(nl.setFdb({ dev: a, mac: '00:00:00:00:00:00', master: true }), 'EINVAL');
        await expectCode(nl.setFdb({ dev: b, mac, master: true }), 'EOPNOTSUPP');
      });

      test('a vxlan port lists its own entries (with dst) and the bridge\'s entries for it', async () => {
        const br = dev('br');
        const vx = dev('vx');
        await nl.createBridge({ name: br });
        await nl.createVxlan({ name: vx, vni: 7800 + seq, port: 6784, learning: false, proxy: true, mac: '02:ee:00:00:00:1a' });
        await nl.setLink(vx, { master: br });
        await nl.setBridgePort(vx, { learning: false, isolated: true });
        const zero = '00:00:00:00:00:00';
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.1' });
        await nl.addFdb({ dev: vx, mac: zero, dst: '192.0.2.2' });
        await nl.setFdb({ dev: vx, mac: '02:00:00:00:00:1b', dst: '192.0.2.1' });
        await nl.setFdb({ dev: vx, mac: '02:00:00:00:00:1b', master: true });
        const [bri, vxi] = [(await nl.getLink(br))?.index, (await nl.getLink(vx))?.index];
        expect((await nl.listFdb(vx)).sort((x, y) => byMac(x, y) || Number(x.self) - Number(y.self))).toEqual([
          { ifindex: vxi, mac: zero, dst: '192.0.2.1', self: true, state: NUD_PERMANENT },
          { ifindex: vxi, mac: zero, dst: '192.0.2.2', self: true, state: NUD_PERMANENT },
          { ifindex: vxi, mac: '02:00:00:00:00:1b', self: false, master: bri, state: NUD_NOARP },
          { ifindex: vxi, mac: '02:00:00:00:00:1b', dst: '192.0.2.1', self: true, state: NUD_PERMANENT },
          { ifindex: vxi, mac: '02:ee:00:00:00:1a', self: false, master: bri, state: NUD_PERMANENT },
        ]);
        expect(await probe.fdb(vx)).toHaveLength(5);
      });

      test('deleteFdb of each kind; a missing entry is ENOENT', async () => {
        const br = dev('br');
        const vx = dev('vx');
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createBridge({ name: br });
        await nl.createVxlan({ name: vx, vni: 7900 + seq, port: 6784, learning: false });
        await nl.createVeth({ name: a, peerName: b });
        for (const port of [vx, a]) await nl.setLink(port, { master: br });
        const mac = '02:00:00:00:00:2a';
        await nl.setFdb({ dev: vx, mac, dst: '192.0.2.1' });
        await nl.setFdb({ dev: a, mac, master: true });

        await expectCode(nl.deleteFdb({ dev: vx, mac, master: true }), 'ENOENT'); // it is on the other port
        await nl.deleteFdb({ dev: a, mac, master: true });
        expect((await nl.listFdb()).filter((f) => f.mac === mac && !f.self)).toEqual([]);
        await expectCode(nl.deleteFdb({ dev: a, mac, master: true }), 'ENOENT');
        expect((await nl.listFdb(vx)).filter((f) => f.mac === mac)).toHaveLength(1); // the vxlan's own entry stays

        await nl.deleteFdb({ dev: vx, mac, dst: '192.0.2.1' });
        expect(await probe.fdb(vx)).not.toContainEqual(expect.objectContaining({ mac }));
        await expectCode(nl.deleteFdb({ dev: vx, mac, dst: '192.0.2.1' }), 'ENOENT');
        await expectCode(nl.deleteFdb({ dev: b, mac, master: true }), 'EOPNOTSUPP'); // not a port
        await expectCode(nl.deleteFdb({ dev: dev('gh'), mac, master: true }), 'ENODEV');
      });

      test('an FdbSpec names exactly one kind of entry: EINVAL before anything is sent', async () => {
        const ghost = dev('gh');
        const mac = '02:00:00:00:00:3a';
        // checked before the device is looked up, so even a missing device gives EINVAL
        await expectCode(nl.setFdb({ dev: ghost, mac }), 'EINVAL');
        await expectCode(nl.setFdb({ dev: ghost, mac, dst: '192.0.2.1', master: true }), 'EINVAL');
        await expectCode(nl.deleteFdb({ dev: ghost, mac }), 'EINVAL');
        await expectCode(nl.addFdb({ dev: ghost, mac, master: true }), 'EINVAL');
        await expectCode(nl.addFdb({ dev: ghost, mac }), 'EINVAL');
        const e = await expectCode(nl.setFdb({ dev: ghost, mac, master: false }), 'EINVAL');
        expect(e.message).toBe(`set fdb ${mac} on ${ghost}: EINVAL (an FDB entry needs exactly one of dst and master)`);
        await expectCode(nl.setFdb({ dev: ghost, mac, dst: '192.0.2.1' }), 'ENODEV');
        const vx = dev('vx');
        await nl.createVxlan({ name: vx, vni: 8000 + seq, port: 6784, learning: false });
        await expectCode(nl.setFdb({ dev: vx, mac: '02:00:00:00:00', dst: '192.0.2.1' }), 'EINVAL');
        await expectCode(nl.setFdb({ dev: vx, mac, dst: '192.0.2' }), 'EINVAL');
        expect(await nl.listFdb(vx)).toEqual([]);
      });

      test('bridge entries follow the port: its address changes, it leaves, it is deleted', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        const [c, d] = [dev('vc'), dev('vd')];
        await nl.createBridge({ name: br, mac: '02:ee:00:00:00:40' });
        await nl.createVeth({ name: a, peerName: b, mac: '02:ee:00:00:00:4a' });
        await nl.createVeth({ name: c, peerName: d, mac: '02:ee:00:00:00:4c' });
        for (const port of [a, c]) await nl.setLink(port, { master: br });
        const bri = (await nl.getLink(br))?.index;
        // an address given to the bridge is an entry of the bridge itself
        expect(bridgeEntries(await nl.listFdb(br))).toEqual([
          { ifindex: bri, mac: '02:ee:00:00:00:40', state: NUD_PERMANENT, self: false, master: bri },
        ]);
        await nl.setFdb({ dev: a, mac: '02:00:00:00:00:41', master: true });
        await nl.setLink(a, { mac: '02:ee:00:00:00:4b' });
        expect(bridgeEntries(await nl.listFdb(a)).map((f) => [f.mac, f.state])).toEqual([
          ['02:00:00:00:00:41', NUD_NOARP], ['02:ee:00:00:00:4b', NUD_PERMANENT],
        ]);
        await nl.setLink(a, { master: null });
        expect(bridgeEntries(await nl.listFdb(a))).toEqual([]);
        expect((await nl.listFdb()).filter((f) => f.mac === '02:00:00:00:00:41')).toEqual([]);
        await nl.setFdb({ dev: c, mac: '02:00:00:00:00:42', master: true });
        // a second port with c's address: its own entry stays with c, and passes to it when c goes
        const [e, f] = [dev('ve'), dev('vf')];
        await nl.createVeth({ name: e, peerName: f, mac: '02:ee:00:00:00:4c' });
        await nl.setLink(e, { master: br });
        const ei = (await nl.getLink(e))?.index;
        expect(bridgeEntries(await nl.listFdb(e))).toEqual([]);
        await nl.deleteLink(c);
        expect((await nl.listFdb()).filter((x) => x.mac === '02:00:00:00:00:42')).toEqual([]);
        expect((await nl.listFdb()).filter((x) => x.mac === '02:ee:00:00:00:4c' && !x.self)).toEqual([
          { ifindex: ei, mac: '02:ee:00:00:00:4c', state: NUD_PERMANENT, self: false, master: bri },
        ]);
      });
    });

    describe('namespaces', () => {
      test('a veth with its peer made there: one end each side, and deleting either end takes both', async () => {
        const br = dev('br');
        const [h, p] = [dev('h'), dev('p')];
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: h, peerName: p, mtu: 1400, peerMac: '02:ee:00:00:00:01', master: br, up: true, peerNetns: there.ref });
        expect(await probe.link(h)).toMatchObject({ kind: 'veth', master: br, up: true, mtu: 1400 });
        expect(await nl.getLink(p)).toBeUndefined();
        expect(await there.nl.getLink(p)).toMatchObject({ kind: 'veth', mtu: 1400, mac: '02:ee:00:00:00:01', up: false });
        expect(await there.nl.getLink(h)).toBeUndefined();
        await nl.deleteLink(h);
        expect(await there.nl.getLink(p)).toBeUndefined();

        const [h2, p2] = [dev('i'), dev('q')];
        await nl.createVeth({ name: h2, peerName: p2, peerNetns: there.ref });
        await there.nl.deleteLink(p2);
        expect(await nl.getLink(h2)).toBeUndefined();
      });

      test('the peer\'s name taken there is EEXIST and nothing is made here; the same name on both sides is fine', async () => {
        const [taken, h] = [dev('t'), dev('h')];
        await there.nl.createBridge({ name: taken });
        await expectCode(nl.createVeth({ name: h, peerName: taken, peerNetns: there.ref }), 'EEXIST');
        expect(await nl.getLink(h)).toBeUndefined();
        const same = dev('s');
        await nl.createVeth({ name: same, peerName: same, peerNetns: there.ref });
        expect((await nl.getLink(same))?.kind).toBe('veth');
        expect((await there.nl.getLink(same))?.kind).toBe('veth');
      });

      test('a vxlan made there: its ports, FDB and neighbours are there; its VNI is taken here', async () => {
        const [vx, br] = [dev('vx'), dev('br')];
        const vni = 7600 + seq;
        await nl.createVxlan({ name: vx, vni, port: 6784, learning: false, proxy: true, mtu: 1400, netns: there.ref });
        expect(await nl.getLink(vx)).toBeUndefined();
        expect(await there.nl.getLink(vx)).toMatchObject({ kind: 'vxlan', mtu: 1400, up: false, vxlan: { vni, port: 6784, learning: false, proxy: true } });
        await there.nl.createBridge({ name: br });
        await there.nl.setLink(vx, { master: br, up: true });
        await there.nl.setBridgePort(vx, { learning: false, isolated: true });
        await there.nl.setFdb({ dev: vx, mac: '02:ee:00:00:00:02', dst: '192.0.2.7' });
        await there.nl.setNeighbour({ dev: vx, ip: '10.9.9.2', mac: '02:ee:00:00:00:02' });
        expect((await there.nl.listFdb(vx)).filter((f) => f.self && f.dst !== undefined)).toEqual([
          expect.objectContaining({ mac: '02:ee:00:00:00:02', dst: '192.0.2.7' }),
        ]);
        expect((await there.nl.listNeighbours(vx)).map((n) => n.ip)).toEqual(['10.9.9.2']);
        expect(await there.nl.getLink(vx)).toMatchObject({ up: true, bridgePort: { learning: false, isolated: true } });
        // the kernel keeps VXLAN devices by the namespace of their socket: this one
        await expectCode(nl.createVxlan({ name: dev('v2'), vni, port: 6784, learning: false }), 'EEXIST');
        await expectCode(nl.createVxlan({ name: dev('v3'), vni, port: 6784, learning: false, netns: there.ref }), 'EEXIST');
        await there.nl.deleteLink(vx);
        await nl.createVxlan({ name: dev('v4'), vni, port: 6784, learning: false });
      });

      test('moveLink: arrives down, off its bridge, without addresses; a veth keeps its peer', async () => {
        const br = dev('br');
        const [h, p] = [dev('h'), dev('p')];
        const s = subnet();
        await nl.createBridge({ name: br });
        await nl.createVeth({ name: h, peerName: p, master: br, up: true, mtu: 1420 });
        await nl.addAddress(h, `${s}.1/24`);
        await nl.moveLink(h, there.ref);
        expect(await nl.getLink(h)).toBeUndefined();
        const moved = await there.nl.getLink(h);
        expect(moved).toMatchObject({ kind: 'veth', up: false, mtu: 1420 });
        expect(moved?.masterIndex).toBeUndefined();
        expect(await there.nl.listAddresses(h)).toEqual([]);
        expect((await nl.listFdb(br)).filter((f) => !f.self && f.mac === moved?.mac)).toEqual([]);
        // and back; deleting the end here still takes the one there
        await there.nl.moveLink(h, here);
        expect((await nl.getLink(h))?.kind).toBe('veth');
        await nl.moveLink(p, there.ref);
        await nl.deleteLink(h);
        expect(await there.nl.getLink(p)).toBeUndefined();
      });

      test('moveLink errors: the name taken there, lo, no such namespace, no such link', async () => {
        const [a, b] = [dev('a'), dev('b')];
        await nl.createVeth({ name: a, peerName: b });
        await there.nl.createBridge({ name: a });
        await expectCode(nl.moveLink(a, there.ref), 'EEXIST');
        expect((await nl.getLink(a))?.kind).toBe('veth');
        await expectCode(nl.moveLink('lo', there.ref), 'EINVAL');
        await expectCode(nl.moveLink(b, { path: 'nowhere', fd: 999_999 }), 'EBADF');
        await expectCode(nl.createVeth({ name: dev('c'), peerName: dev('d'), peerNetns: { path: 'nowhere', fd: 999_999 } }), 'EBADF');
        await expectCode(nl.moveLink(dev('gh'), there.ref), 'ENODEV');
        // where it is already: nothing to do, even for lo
        await nl.moveLink(b, here);
        await nl.moveLink('lo', here);
        expect((await nl.getLink(b))?.kind).toBe('veth');
      });
    });

    describe('ensure helpers are idempotent', () => {
      test('ensureBridge creates, then leaves alone, then fixes drift', async () => {
        const br = dev('br');
        const spec = { name: br, mtu: 1410, mac: '02:dd:00:00:00:01', up: true };
        expect(await ensureBridge(nl, spec)).toBe('created');
        expect(await ensureBridge(nl, spec)).toBe('unchanged');
        expect(await probe.link(br)).toMatchObject({ kind: 'bridge', mtu: 1410, mac: '02:dd:00:00:00:01', up: true });
        await nl.setLink(br, { up: false, mtu: 1300 });
        expect(await ensureBridge(nl, spec)).toBe('updated');
        expect(await nl.getLink(br)).toMatchObject({ mtu: 1410, up: true });
      });

      test('ensureBridge on a name held by a veth is a clear EEXIST', async () => {
        const [a, b] = [dev('va'), dev('vb')];
        await nl.createVeth({ name: a, peerName: b });
        const e = await expectCode(ensureBridge(nl, { name: a, up: true }), 'EEXIST');
        expect(e.message).toContain('a veth device already has that name');
      });

      test('ensureVeth, ensureAddress, removeLink, removeAddress twice each', async () => {
        const br = dev('br');
        const [a, b] = [dev('va'), dev('vb')];
        const s = subnet();
        await ensureBridge(nl, { name: br, up: true });
        const spec = { name: a, peerName: b, mtu: 1400, master: br, up: true };
        expect(await ensureVeth(nl, spec)).toBe('created');
        expect(await ensureVeth(nl, spec)).toBe('unchanged');
        expect(await probe.link(a)).toMatchObject({ master: br, up: true, mtu: 1400 });
        expect(await ensureAddress(nl, br, `${s}.1/24`)).toBe(true);
        expect(await ensureAddress(nl, br, `${s}.1/24`)).toBe(false);
        expect(await nl.listAddresses(br)).toHaveLength(1);
        expect(await removeAddress(nl, br, `${s}.1/24`)).toBe(true);
        expect(await removeAddress(nl, br, `${s}.1/24`)).toBe(false);
        expect(await removeLink(nl, a)).toBe(true);
        expect(await removeLink(nl, a)).toBe(false);
        expect(await nl.getLink(b)).toBeUndefined();
      });

      test('ensureVxlan: unchanged when equal, re-created when the VNI differs', async () => {
        const vx = dev('vx');
        const spec = { name: vx, vni: 7300 + seq, port: 6784, learning: false, up: true };
        expect(await ensureVxlan(nl, spec)).toBe('created');
        expect(await ensureVxlan(nl, spec)).toBe('unchanged');
        expect(await ensureVxlan(nl, { ...spec, vni: 7400 + seq })).toBe('created');
        expect((await nl.getLink(vx))?.vxlan?.vni).toBe(7400 + seq);
        expect(await probe.link(vx)).toMatchObject({ up: true, vxlan: { vni: 7400 + seq } });
      });

      test('removeNeighbour / removeFdb tolerate absence', async () => {
        const vx = dev('vx');
        await nl.createVxlan({ name: vx, vni: 7500 + seq, port: 6784, learning: false });
        await nl.addFdb({ dev: vx, mac: '00:00:00:00:00:00', dst: '192.0.2.1' });
        const f = { dev: vx, mac: '00:00:00:00:00:00', dst: '192.0.2.1' };
        expect(await removeFdb(nl, f)).toBe(true);
        expect(await removeFdb(nl, f)).toBe(false);
        expect(await removeNeighbour(nl, { dev: vx, ip: '10.0.0.1' })).toBe(false);
        expect(await removeNeighbour(nl, { dev: dev('gh'), ip: '10.0.0.1' })).toBe(false);
      });
    });

    test('100 veth pairs on a bridge: create, enslave, list, delete', async () => {
      const br = dev('br');
      await nl.createBridge({ name: br });
      const brIndex = (await nl.getLink(br))?.index;
      const hosts: string[] = [];
      for (let i = 0; i < 100; i++) {
        const h = `${prefix}h${i}`;
        hosts.push(h);
        names.push(h);
        await nl.createVeth({ name: h, peerName: `${prefix}c${i}` });
        await nl.setLink(h, { master: br, up: true });
      }
      const links = await nl.listLinks();
      const ports = links.filter((l) => l.masterIndex === brIndex).map((l) => l.name);
      expect(ports.sort()).toEqual([...hosts].sort());
      expect(links.filter((l) => l.name.startsWith(`${prefix}c`))).toHaveLength(100);
      for (const h of hosts) await nl.deleteLink(h);
      const after = await nl.listLinks();
      expect(after.filter((l) => l.name.startsWith(`${prefix}h`) || l.name.startsWith(`${prefix}c`))).toEqual([]);
    });
  });
}
