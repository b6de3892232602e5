/**
 * A routed network's redirect program on the real kernel (inside `unshare --net`, so routes, neighbours and
 * FORWARD are this test's own): the verifier takes it; BPF_PROG_TEST_RUN shows what it makes of packets
 * with this namespace's routes and neighbours; and real traffic between two containers (namespaces of their
 * own, veth host ends here) crosses with FORWARD set to DROP only while the programs are attached, which
 * is the proof that their packets skipped the stack's forward.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { parseCidr } from '../../src/addr/cidr';
import { closeFd, loadProgram, PROG_TYPE_SCHED_CLS, SK_BUFF_BYTES, TCX_NEXT, TCX_REDIRECT, testRun, attachTcx, ATTACH_TCX_INGRESS } from '../../src/bpf/bpf';
import { REDIRECT_LICENSE, redirectProgram } from '../../src/dataplane/redirect/program';
import { Redirects } from '../../src/dataplane/redirect/redirects';
import { kernelTcx } from '../../src/dataplane/redirect/tcx';
import { removeLink } from '../../src/netlink/ensure';
import { ensureNetns, removeNetns } from '../../src/netlink/netns';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { ROUTE_PROTOCOL } from '../../src/network/routed';
import { silentLogger } from '../../src/util/log';
import { SyscallError } from '../../src/util/syscall';
import { procSysctl } from '../../src/util/sysctl';

const SUBNET = '10.44.0.0/16';
const NS = { a: '/run/netns/wft-rdt-a', b: '/run/netns/wft-rdt-b' };
const C = {
  a: { ns: NS.a, host: 'rdt-ha', cont: 'rdt-ca', ip: '10.44.0.2', mac: '02:00:0a:2c:00:02' },
  b: { ns: NS.b, host: 'rdt-hb', cont: 'rdt-cb', ip: '10.44.0.3', mac: '02:00:0a:2c:00:03' },
};
/** the underlay: a veth with both ends here; a peer at .2 (known MAC) and one at .3 (never answers) */
const UNDERLAY = { dev: 'rdt-u0', other: 'rdt-u1', cidr: '192.168.77.1/24', peer: '192.168.77.2', peerMac: '02:00:c0:a8:4d:02', silent: '192.168.77.3' };
const GATEWAY = { dev: 'rdt-g0', ip: '10.44.0.1' };

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();
const inNs = (ns: string, ...args: string[]) => ip('-n', ns.split('/').pop()!, ...args);
const iptables = (...args: string[]) => execFileSync('iptables', ['-w', '5', ...args]).toString();

let nl: RtNetlink;
let program: number;
const index: Record<string, number> = {};
const macOf: Record<string, string> = {};

async function cleanUp(): Promise<void> {
  for (const d of [C.a.host, C.b.host, UNDERLAY.dev, GATEWAY.dev]) await removeLink(nl, d);
  for (const ns of Object.values(NS)) removeNetns(ns);
}

beforeAll(async () => {
  nl = await RtNetlink.open({ timeoutMs: 5000 });
  await cleanUp(); // a run cut short leaves its namespaces pinned
  await procSysctl.set('net/ipv4/ip_forward', '1');
  for (const c of [C.a, C.b]) {
    const ns = ensureNetns(c.ns);
    await nl.createVeth({ name: c.host, peerName: c.cont, peerMac: c.mac, up: true });
    await nl.moveLink(c.cont, ns).finally(() => ns.close());
    inNs(c.ns, 'addr', 'add', `${c.ip}/16`, 'dev', c.cont);
    inNs(c.ns, 'link', 'set', c.cont, 'up');
    await procSysctl.set(`net/ipv4/conf/${c.host}/proxy_arp`, '1');
    await procSysctl.set(`net/ipv4/neigh/${c.host}/proxy_delay`, '0');
    await nl.replaceRoute({ dst: `${c.ip}/32`, dev: c.host, protocol: ROUTE_PROTOCOL, priority: 10 });
    await nl.setNeighbour({ dev: c.host, ip: c.ip, mac: c.mac });
  }
  await nl.createVeth({ name: UNDERLAY.dev, peerName: UNDERLAY.other, up: true });
  await nl.setLink(UNDERLAY.other, { up: true });
  await nl.addAddress(UNDERLAY.dev, UNDERLAY.cidr);
  await nl.setNeighbour({ dev: UNDERLAY.dev, ip: UNDERLAY.peer, mac: UNDERLAY.peerMac });
  await nl.replaceRoute({ dst: '10.44.1.5/32', gateway: UNDERLAY.peer, protocol: ROUTE_PROTOCOL, priority: 20 });
  await nl.replaceRoute({ dst: '10.44.2.9/32', gateway: UNDERLAY.silent, protocol: ROUTE_PROTOCOL, priority: 20 });
  await nl.replaceRoute({ dst: SUBNET, type: 'unreachable', protocol: ROUTE_PROTOCOL });
  await nl.createBridge({ name: GATEWAY.dev });
  await nl.setLink(GATEWAY.dev, { up: true });
  await nl.addAddress(GATEWAY.dev, `${GATEWAY.ip}/32`);
  for (const d of [C.a.host, C.b.host, UNDERLAY.dev]) {
    const l = (await nl.getLink(d))!;
    index[d] = l.index;
    macOf[d] = l.mac!;
  }
  program = loadProgram(PROG_TYPE_SCHED_CLS, redirectProgram(parseCidr(SUBNET)), REDIRECT_LICENSE, 'weft_redirect');
});

afterAll(async () => {
  if (program !== undefined) closeFd(program);
  await cleanUp();
  await nl.close();
});

const mac = (text: string) => Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
const ipBytes = (text: string) => Buffer.from(text.split('.').map(Number));

/** RFC 1071 over an IPv4 header: 0 when its checksum is right */
function headerSum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** an Ethernet frame to `toMac` with an IPv4 header (checksum set) and 28 bytes of UDP-ish payload */
function packet(toMac: string, src: string, dst: string, o: { ttl?: number; ethType?: number; tos?: number } = {}): Buffer {
  const p = Buffer.alloc(14 + 20 + 28, 0x5a);
  mac(toMac).copy(p, 0);
  mac('02:22:22:22:22:22').copy(p, 6);
  p.writeUInt16BE(o.ethType ?? 0x0800, 12);
  const h = p.subarray(14, 34);
  h.fill(0);
  h[0] = 0x45;
  h[1] = o.tos ?? 0x10;
  h.writeUInt16BE(48, 2);
  h.writeUInt16BE(0x1234, 4);
  h[8] = o.ttl ?? 64;
  h[9] = 17;
  ipBytes(src).copy(h, 12);
  ipBytes(dst).copy(h, 16);
  h.writeUInt16BE(headerSum(h), 10);
  return p;
}

function run(p: Buffer, ingress: string): { retval: number; packet: Buffer } {
  const ctx = Buffer.alloc(SK_BUFF_BYTES);
  ctx.writeUInt32LE(index[ingress]!, 36); // ingress_ifindex
  ctx.writeUInt32LE(index[ingress]!, 40); // ifindex: the device the test packet arrives on
  return testRun(program, p, ctx);
}

describe('on a test packet', () => {
  test.each([
    ['a container to another on this host', C.a.ip, C.b.ip, C.a.host, C.b.mac, C.b.host],
    ['a container to a peer\'s container', C.a.ip, '10.44.1.5', C.a.host, UNDERLAY.peerMac, UNDERLAY.dev],
    ['a peer\'s container to a container here, arriving on the underlay', '10.44.1.5', C.a.ip, UNDERLAY.dev, C.a.mac, C.a.host],
  ])('%s: redirected, MACs from the FIB, TTL one less, checksum still right', (_what, src, dst, ingress, dstMac, outDev) => {
    const p = packet(macOf[ingress]!, src, dst);
    const r = run(p, ingress);
    expect(r.retval).toBe(TCX_REDIRECT);
    expect(r.packet.subarray(0, 6)).toEqual(mac(dstMac));
    expect(r.packet.subarray(6, 12)).toEqual(mac(macOf[outDev]!));
    expect(r.packet[14 + 8]).toBe(63);
    expect(headerSum(r.packet.subarray(14, 34))).toBe(0);
    // nothing else changed
    const want = Buffer.from(p);
    r.packet.copy(want, 0, 0, 12);
    want[22] = 63;
    r.packet.copy(want, 24, 24, 26);
    expect(r.packet).toEqual(want);
  });

  test.each([
    ['to the gateway, an address of this host', C.a.ip, GATEWAY.ip, {}],
    ['to an address no host has (the unreachable route)', C.a.ip, '10.44.9.9', {}],
    ['to a peer whose MAC is not known yet', C.a.ip, '10.44.2.9', {}],
    ['from outside the subnet', '192.168.77.9', C.a.ip, {}],
    ['to outside the subnet', C.a.ip, UNDERLAY.peer, {}],
    ['with a TTL about to expire', C.a.ip, C.b.ip, { ttl: 1 }],
    ['not IPv4 (ARP)', C.a.ip, C.b.ip, { ethType: 0x0806 }],
    ['to another host\'s MAC (the kernel marks it PACKET_OTHERHOST)', C.a.ip, C.b.ip, { toMac: '02:11:11:11:11:11' }],
    ['to the broadcast MAC', C.a.ip, C.b.ip, { toMac: 'ff:ff:ff:ff:ff:ff' }],
  ])('%s: left to the stack, unchanged', (_what, src, dst, o: { toMac?: string; ttl?: number; ethType?: number }) => {
    const p = packet(o.toMac ?? macOf[C.a.host]!, src, dst, o);
    const r = run(p, C.a.host);
    expect(r.retval).toBe(TCX_NEXT);
    expect(r.packet).toEqual(p);
  });
});

describe('on real traffic', () => {
  const ping = (from: { ns: string }, to: string) =>
    spawnSync('ip', ['netns', 'exec', from.ns.split('/').pop()!, 'busybox', 'ping', '-c', '1', '-W', '1', to], { stdio: 'pipe' }).status;

  beforeAll(() => iptables('-P', 'FORWARD', 'DROP'));
  afterAll(() => iptables('-P', 'FORWARD', 'ACCEPT'));

  test('FORWARD drops: containers reach each other only while the redirects are attached', async () => {
    expect(ping(C.a, C.b.ip)).not.toBe(0);
    const redirects = new Redirects({ tcx: kernelTcx, log: silentLogger });
    redirects.sync([SUBNET], await nl.listRoutes());
    try {
      // both host ends and the underlay device (the route to 10.44.1.5; 10.44.2.9's leaves by it too)
      expect(redirects.status()).toEqual({ on: true, devices: 3, subnets: { [SUBNET]: 3 } });
      expect(ping(C.a, C.b.ip)).toBe(0);
      expect(ping(C.b, C.a.ip)).toBe(0);
    } finally {
      redirects.closeAll();
    }
    expect(redirects.status()).toEqual({ on: true, devices: 0, subnets: {} });
    expect(ping(C.a, C.b.ip)).not.toBe(0);
  });
});

test('attaching to a device that does not exist: ENODEV, named', () => {
  let err: unknown;
  try {
    attachTcx(program, 0x7ffffff0, ATTACH_TCX_INGRESS, 'nothing');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).code).toBe('ENODEV');
  expect((err as Error).message).toMatch(/LINK_CREATE tcx on nothing/);
});

test('a program the verifier refuses: the error carries its reason', () => {
  // r0 = *(u32 *)(r1 + 4096): outside the context
  const bad = Buffer.from([0x61, 0x10, 0x00, 0x10, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  expect(() => loadProgram(PROG_TYPE_SCHED_CLS, bad, REDIRECT_LICENSE, 'weft_bad')).toThrow(/PROG_LOAD weft_bad: .*verifier: .*(invalid bpf_context access|off=4096)/s);
});
