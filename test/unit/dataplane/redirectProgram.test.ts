/**
 * The redirect program run in a test interpreter against a fake FIB. Expected packets are built
 * here byte by byte, and checksums are checked with an RFC 1071 sum of the whole header, so
 * nothing expected is derived from the program's own constants or arithmetic.
 */
import { type Cidr, parseCidr } from '../../../src/addr/cidr';
import { redirectProgram } from '../../../src/dataplane/redirect/program';
import { seededRandom } from '../../../src/util/random';
import { CTX_BASE, type Helper, type HelperMemory, runBpf, type RunResult, SKB, STACK_TOP } from '../../helpers/bpfInterpreter';

const FIB_LOOKUP = 69;
const REDIRECT = 23;
const REDIRECT_PEER = 155;
const TCX_NEXT = -1;
const INGRESS = 5;
/** the context of a frame for this host (pkt_type PACKET_HOST), arriving on device INGRESS */
const CTX = { ingressIfindex: INGRESS, ctxFields: { [SKB.pktType]: 0 } };

// ---- addresses and packets ----

function ip(dotted: string): number {
  const o = dotted.split('.').map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad fixture ip ${dotted}`);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const mac = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');

/** RFC 1071, carry added back at every step; 0 over a header whose checksum is right */
function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) {
    sum += (data[i]! << 8) | (data[i + 1] ?? 0);
    if (sum > 0xffff) sum -= 0xffff;
  }
  return 0xffff - sum;
}

interface Spec {
  dmac: string;
  smac: string;
  ethType: number;
  /** the first IPv4 byte: version and IHL */
  verIhl: number;
  tos: number;
  id: number;
  frag: number;
  ttl: number;
  proto: number;
  src: number;
  dst: number;
  payload: Buffer;
  /** the checksum field as written; by default the right one */
  check?: number;
}

const BASE: Spec = {
  dmac: '02:00:00:00:00:01',
  smac: '02:00:00:00:00:02',
  ethType: 0x0800,
  verIhl: 0x45,
  tos: 0x28,
  id: 0x1c46,
  frag: 0x4000,
  ttl: 64,
  proto: 17,
  src: ip('10.44.1.2'),
  dst: ip('10.44.3.4'),
  payload: Buffer.from('0035d4310010abcd68656c6c6f21', 'hex'),
};

function frame(over: Partial<Spec> = {}): Buffer {
  const s = { ...BASE, ...over };
  const ihl = (s.verIhl & 0x0f) * 4 >= 20 ? (s.verIhl & 0x0f) * 4 : 20;
  const b = Buffer.alloc(14 + ihl + s.payload.length);
  mac(s.dmac).copy(b, 0);
  mac(s.smac).copy(b, 6);
  b.writeUInt16BE(s.ethType, 12);
  b[14] = s.verIhl;
  b[15] = s.tos;
  b.writeUInt16BE(ihl + s.payload.length, 16);
  b.writeUInt16BE(s.id, 18);
  b.writeUInt16BE(s.frag, 20);
  b[22] = s.ttl;
  b[23] = s.proto;
  b.writeUInt32BE(s.src, 26);
  b.writeUInt32BE(s.dst, 30);
  for (let i = 34; i < 14 + ihl; i++) b[i] = 0x01; // options: NOPs
  s.payload.copy(b, 14 + ihl);
  b.writeUInt16BE(s.check ?? checksum(b.subarray(14, 14 + ihl)), 24);
  return b;
}

/** a valid header whose checksum field is `check`, reached by choosing the IP ID */
function frameWithChecksum(check: number, over: Partial<Spec> = {}): Buffer {
  const zeroId = frame({ ...over, id: 0, check: 0 });
  const s0 = 0xffff - checksum(zeroId.subarray(14, 34)); // the sum of every other word
  let id = (0xffff - check) + (0xffff - s0); // want s0 + id = ~check, in ones' complement
  id = (id & 0xffff) + (id >>> 16);
  const f = frame({ ...over, id: id & 0xffff });
  f.writeUInt16BE(check, 24);
  if (checksum(f.subarray(14, 34)) !== 0) throw new Error(`fixture: no valid header with checksum ${check.toString(16)}`);
  return f;
}

const headerOf = (f: Buffer): Buffer => f.subarray(14, 14 + (f[14]! & 0x0f) * 4);

// ---- the fake kernel ----

interface Fib {
  /** bpf_fib_lookup's return: 0 success, 1..9 the failures */
  ret: number;
  ifindex: number;
  /** ipv4_dst out: the gateway, or the destination itself */
  nextHop?: number;
  smac: string;
  dmac: string;
}

const LOCAL: Fib = { ret: 0, ifindex: 7, smac: '0a:58:0a:2c:00:01', dmac: '8e:4f:12:34:56:78' };

interface World {
  helper: Helper;
  /** a copy of each FIB request as the program wrote it */
  requests: Buffer[];
}

function world(fib: Fib = LOCAL, returns: { peer?: bigint; redirect?: bigint } = {}): World {
  const requests: Buffer[] = [];
  const helper: Helper = (id, r1, r2, r3, r4, _r5, mem: HelperMemory) => {
    switch (id) {
      case FIB_LOOKUP: {
        expect([r1, r3, r4]).toEqual([CTX_BASE, 64n, 0n]);
        const p = mem.view(r2, 64);
        requests.push(Buffer.from(p));
        // the kernel fills the answer in on some failures too (e.g. no neighbour), so do that always
        const dst = p.readUInt32BE(32);
        p.writeUInt32LE(fib.ifindex, 8);
        p.writeUInt16LE(1500, 6); // mtu_result, in tot_len's place
        p.writeUInt32BE(fib.nextHop ?? dst, 32);
        mac(fib.smac).copy(p, 52);
        mac(fib.dmac).copy(p, 58);
        return BigInt(fib.ret);
      }
      case REDIRECT_PEER:
        return returns.peer ?? 7n;
      case REDIRECT:
        return returns.redirect ?? 7n;
      default:
        throw new Error(`unexpected helper ${id}`);
    }
  };
  return { helper, requests };
}

function run(subnet: Cidr, packet: Buffer, w: World = world()): RunResult {
  return runBpf(redirectProgram(subnet), { ...CTX, packet, helper: w.helper });
}

/** what a forward must have done to `before`, checked field by field */
function expectForwarded(before: Buffer, after: Buffer, fib: Fib): void {
  const expected = Buffer.from(before);
  mac(fib.dmac).copy(expected, 0);
  mac(fib.smac).copy(expected, 6);
  expected[22] = before[22]! - 1;
  expect(after.length).toBe(before.length);
  expect(checksum(headerOf(after))).toBe(0);
  // all but the checksum field are exactly as expected
  expected.writeUInt16BE(after.readUInt16BE(24), 24);
  expect(after.toString('hex')).toBe(expected.toString('hex'));
}

const SUBNET = parseCidr('10.44.0.0/16');

// ---- forwarding ----

describe('redirectProgram: forwarding', () => {
  test('to a container on this host: redirect_peer into its veth, MACs and TTL rewritten', () => {
    const w = world(LOCAL);
    const before = frame();
    const r = run(SUBNET, before, w);
    expect(r.verdict).toBe(7);
    expect(r.calls.map((c) => c.id)).toEqual([FIB_LOOKUP, REDIRECT_PEER]);
    expect(r.calls[1]!.args.slice(0, 2)).toEqual([7n, 0n]);
    expect(r.packet.subarray(0, 6)).toEqual(mac(LOCAL.dmac));
    expect(r.packet.subarray(6, 12)).toEqual(mac(LOCAL.smac));
    expect(r.packet[22]).toBe(63);
    expect(checksum(headerOf(r.packet))).toBe(0);
    expectForwarded(before, r.packet, LOCAL);
    // the checksum field equals one worked out from scratch for the header with TTL 63
    expect(before.readUInt16BE(24)).toBe(checksum(headerOf(frame({ check: 0 }))));
    expect(r.packet.readUInt16BE(24)).toBe(checksum(headerOf(frame({ ttl: 63, check: 0 }))));
  });

  test('to a container on a peer: the FIB gives a gateway outside the subnet, redirect to the underlay', () => {
    const fib: Fib = { ret: 0, ifindex: 2, nextHop: ip('192.168.91.2'), smac: '52:54:00:aa:bb:01', dmac: '52:54:00:aa:bb:02' };
    const before = frame({ dst: ip('10.44.200.9') });
    const r = run(SUBNET, before, world(fib));
    expect(r.verdict).toBe(7);
    expect(r.calls.map((c) => c.id)).toEqual([FIB_LOOKUP, REDIRECT]);
    expect(r.calls[1]!.args.slice(0, 2)).toEqual([2n, 0n]);
    expectForwarded(before, r.packet, fib);
  });

  test.each([
    ['redirect_peer', LOCAL, 'peer', REDIRECT_PEER],
    ['redirect', { ...LOCAL, ifindex: 2, nextHop: ip('192.168.91.2') }, 'redirect', REDIRECT],
  ] as const)('%s: the verdict is whatever the helper returned', (_name, fib, which, helperId) => {
    for (const ret of [0n, 2n, 7n, 0xffff_ffff_ffff_ffffn]) {
      const r = run(SUBNET, frame(), world(fib, { [which]: ret }));
      expect(r.calls.at(-1)!.id).toBe(helperId);
      expect(r.r0).toBe(ret);
    }
  });

  test('the FIB request: family, ingress device, TOS and addresses from the packet, the rest zero', () => {
    const w = world();
    const before = frame({ tos: 0xb8, src: ip('10.44.250.17'), dst: ip('10.44.0.99') });
    runBpf(redirectProgram(SUBNET), { ...CTX, packet: before, ingressIfindex: 0x01020304, helper: w.helper });
    const want = Buffer.alloc(64);
    want[0] = 2; // AF_INET
    want.writeUInt32LE(0x01020304, 8);
    want[12] = 0xb8;
    Buffer.from([10, 44, 250, 17]).copy(want, 16);
    Buffer.from([10, 44, 0, 99]).copy(want, 32);
    expect(w.requests).toHaveLength(1);
    expect(w.requests[0]!.toString('hex')).toBe(want.toString('hex'));
  });

  test('the request lies at r10-64, the stack the program zeroed', () => {
    const r = run(SUBNET, frame());
    expect(r.calls[0]!.args[1]).toBe(STACK_TOP - 64n);
  });

  test('a frame of exactly 34 bytes (no payload) is forwarded', () => {
    const before = frame({ payload: Buffer.alloc(0) });
    expect(before.length).toBe(34);
    const r = run(SUBNET, before);
    expect(r.verdict).toBe(7);
    expectForwarded(before, r.packet, LOCAL);
  });

  test('a header with options: the checksum over all of it stays right', () => {
    const before = frame({ verIhl: 0x46 });
    const r = run(SUBNET, before);
    expect(r.verdict).toBe(7);
    expectForwarded(before, r.packet, LOCAL);
  });

  test.each([2, 3, 128, 255])('TTL %i goes down by one', (ttl) => {
    const before = frame({ ttl });
    const r = run(SUBNET, before);
    expect(r.packet[22]).toBe(ttl - 1);
    expectForwarded(before, r.packet, LOCAL);
  });
});

// ---- left to the stack ----

describe('redirectProgram: left to the stack (TCX_NEXT, the packet untouched)', () => {
  const truncated = (n: number): Buffer => frame().subarray(0, n);

  test.each([
    ['ARP', frame({ ethType: 0x0806 })],
    ['IPv6', frame({ ethType: 0x86dd })],
    ['VLAN-tagged', frame({ ethType: 0x8100 })],
    ['ethertype 0x0008 (0x0800 byte-swapped)', frame({ ethType: 0x0008 })],
    ['IP version 6 in an IPv4 ethertype', frame({ verIhl: 0x65 })],
    ['IP version 0', frame({ verIhl: 0x05 })],
    ['IP version 5', frame({ verIhl: 0x55 })],
    ['IP version 15', frame({ verIhl: 0xf5 })],
    ['TTL 1', frame({ ttl: 1 })],
    ['TTL 0', frame({ ttl: 0 })],
    ['source outside the subnet', frame({ src: ip('10.45.1.2') })],
    ['destination outside the subnet', frame({ dst: ip('10.43.255.255') })],
    ['both outside', frame({ src: ip('192.168.1.1'), dst: ip('8.8.8.8') })],
    ['source outside, byte order mixed (2.1.44.10)', frame({ src: ip('2.1.44.10') })],
    ...[0, 1, 12, 13, 14, 20, 26, 30, 33].map((n) => [`${n} bytes`, truncated(n)] as [string, Buffer]),
  ])('%s', (_name, before) => {
    const r = run(SUBNET, before);
    expect(r.verdict).toBe(TCX_NEXT);
    expect(r.r0).toBe(0xffff_ffff_ffff_ffffn);
    expect(r.calls).toEqual([]);
    expect(r.packet.toString('hex')).toBe(before.toString('hex'));
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8, 9])('FIB failure %i: asked, then nothing changed', (ret) => {
    const before = frame();
    const r = run(SUBNET, before, world({ ...LOCAL, ret }));
    expect(r.verdict).toBe(TCX_NEXT);
    expect(r.calls.map((c) => c.id)).toEqual([FIB_LOOKUP]);
    expect(r.packet.toString('hex')).toBe(before.toString('hex'));
  });

  test('a negative FIB return (-EINVAL) is a failure too', () => {
    const fail: Helper = (id) => (id === FIB_LOOKUP ? -22n : 7n);
    const before = frame();
    const r = runBpf(redirectProgram(SUBNET), { ...CTX, packet: before, helper: fail });
    expect(r.verdict).toBe(TCX_NEXT);
    expect(r.packet.toString('hex')).toBe(before.toString('hex'));
  });
});

// ---- the checksum ----

describe('redirectProgram: the incremental checksum', () => {
  const program = redirectProgram(SUBNET);
  const forward = (before: Buffer, fib: Fib = LOCAL): Buffer => {
    const r = runBpf(program, { ...CTX, packet: before, helper: world(fib).helper });
    expect(r.verdict).toBe(7);
    return r.packet;
  };

  test('500 random headers stay valid', () => {
    const rnd = seededRandom(0x5eed_2c0a);
    const int = (n: number): number => Math.floor(rnd() * n);
    const hexMac = (): string => Array.from({ length: 6 }, () => int(256).toString(16).padStart(2, '0')).join(':');
    let carries = 0;
    for (let n = 0; n < 500; n++) {
      const over: Partial<Spec> = {
        tos: int(256), id: int(0x10000), frag: int(0x10000), ttl: 2 + int(254), proto: int(256),
        src: ((10 << 24) | (44 << 16) | int(0x10000)) >>> 0, dst: ((10 << 24) | (44 << 16) | int(0x10000)) >>> 0,
        dmac: hexMac(), smac: hexMac(), payload: Buffer.from(Array.from({ length: int(40) }, () => int(256))),
      };
      const before = frame(over);
      if (before.readUInt16BE(24) + 0x0100 >= 0xffff) carries++;
      const fib: Fib = { ...LOCAL, dmac: hexMac(), smac: hexMac() };
      const after = forward(before, fib);
      try {
        expectForwarded(before, after, fib);
      } catch (e) {
        throw new Error(`case ${n}: ${before.toString('hex')}\n${String(e)}`);
      }
    }
    expect(carries).toBeGreaterThan(0); // the carry branch was exercised (about 1 in 256)
  });

  // 0xfeff + 0x0100 = 0xffff exactly; 0xff00 and up carry out of 16 bits
  test.each(
    [0x0000, 0x0001, 0x00ff, 0x7fff, 0x8000, 0xfdff, 0xfe00, 0xfefe, 0xfeff, 0xff00, 0xff01, 0xff5a, 0xfffe].map((c) => [c.toString(16).padStart(4, '0'), c]),
  )(
    'checksum field 0x%s before',
    (_hex, check) => {
      for (const ttl of [2, 64, 255]) {
        const before = frameWithChecksum(check, { ttl });
        expect(before.readUInt16BE(24)).toBe(check);
        const after = forward(before);
        expectForwarded(before, after, LOCAL);
      }
    },
  );

  test('the exact results at the carry edge', () => {
    // the new field is the old plus 0x0100 in ones' complement: 0xfeff -> 0x0000 (no -0), 0xff00 -> 0x0001
    expect(forward(frameWithChecksum(0xfeff)).readUInt16BE(24)).toBe(0x0000);
    expect(forward(frameWithChecksum(0xff00)).readUInt16BE(24)).toBe(0x0001);
    expect(forward(frameWithChecksum(0xfffe)).readUInt16BE(24)).toBe(0x00ff);
    expect(forward(frameWithChecksum(0xfefe)).readUInt16BE(24)).toBe(0xfffe);
  });

  test('a field of 0xffff (the other zero, for a header whose words sum to 0xffff) stays valid', () => {
    const before = frameWithChecksum(0x0000);
    before.writeUInt16BE(0xffff, 24);
    expect(checksum(headerOf(before))).toBe(0);
    const after = forward(before);
    expectForwarded(before, after, LOCAL);
    expect(after.readUInt16BE(24)).toBe(0x0100);
  });
});

// ---- subnets ----

describe('redirectProgram: subnets and their edges', () => {
  const cases: [string, number, number][] = [
    // [cidr, first, last]
    ['10.0.0.0/8', ip('10.0.0.0'), ip('10.255.255.255')],
    ['10.44.0.0/16', ip('10.44.0.0'), ip('10.44.255.255')],
    ['172.16.0.0/12', ip('172.16.0.0'), ip('172.31.255.255')],
    ['192.168.7.0/24', ip('192.168.7.0'), ip('192.168.7.255')],
    ['10.44.0.128/25', ip('10.44.0.128'), ip('10.44.0.255')],
    ['10.44.0.254/31', ip('10.44.0.254'), ip('10.44.0.255')],
    ['203.0.113.200/32', ip('203.0.113.200'), ip('203.0.113.200')],
    ['255.255.255.0/24', ip('255.255.255.0'), ip('255.255.255.255')],
    ['0.0.0.0/0', 0, 0xffffffff],
  ];
  const outside = (first: number, last: number): number[] => [first - 1, last + 1].filter((a) => a >= 0 && a <= 0xffffffff);

  test.each(cases)('%s: inside, both ways, forwarded', (cidr, first, last) => {
    for (const [src, dst] of [[first, last], [last, first], [first, first], [last, last]] as const) {
      const before = frame({ src, dst });
      const r = run(parseCidr(cidr), before);
      expect([dotted(src), dotted(dst), r.verdict]).toEqual([dotted(src), dotted(dst), 7]);
      expectForwarded(before, r.packet, LOCAL);
    }
  });

  // /0 has no outside
  const bounded = cases.filter(([cidr]) => !cidr.endsWith('/0'));

  test.each(bounded)('%s: an address just outside either edge is left to the stack', (cidr, first, last) => {
    for (const out of outside(first, last)) {
      for (const [src, dst] of [[out, first], [first, out], [out, last], [last, out]] as const) {
        const before = frame({ src, dst });
        const r = run(parseCidr(cidr), before);
        expect([dotted(src), dotted(dst), r.verdict, r.calls.length]).toEqual([dotted(src), dotted(dst), TCX_NEXT, 0]);
        expect(r.packet.equals(before)).toBe(true);
      }
    }
  });

  test('0.0.0.0/0: any two addresses are forwarded', () => {
    const rnd = seededRandom(0x0);
    for (let n = 0; n < 50; n++) {
      const [src, dst] = [Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32)];
      expect([dotted(src), dotted(dst), run(parseCidr('0.0.0.0/0'), frame({ src, dst })).verdict]).toEqual([dotted(src), dotted(dst), 7]);
    }
  });

  test.each(bounded)('%s: a destination at an edge as its own next hop is a container; a gateway just outside is a peer', (cidr, first, last) => {
    for (const dst of [first, last]) {
      const r = run(parseCidr(cidr), frame({ src: first, dst }), world({ ...LOCAL, nextHop: dst }));
      expect([dotted(dst), r.calls.at(-1)!.id]).toEqual([dotted(dst), REDIRECT_PEER]);
      for (const hop of outside(first, last)) {
        const g = run(parseCidr(cidr), frame({ src: first, dst }), world({ ...LOCAL, ifindex: 2, nextHop: hop }));
        expect([dotted(hop), g.calls.at(-1)!.id, g.calls.at(-1)!.args[0]]).toEqual([dotted(hop), REDIRECT, 2n]);
      }
    }
  });

  test('refuses a subnet with host bits set', () => {
    expect(() => redirectProgram({ base: 0x0a2c0001, prefix: 16 })).toThrow(RangeError);
    expect(() => redirectProgram({ base: ip('10.44.0.255'), prefix: 31 })).toThrow(RangeError);
  });
});

describe('redirectProgram: what the stack would not forward, and a gateway inside the subnet', () => {
  // a peer's underlay address may lie inside a routed subnet: the next hop is then in the subnet, but it is
  // not the destination, so the underlay device (no veth, no peer) must get bpf_redirect
  test('a gateway inside the subnet is a peer: bpf_redirect, not bpf_redirect_peer', () => {
    const subnet = parseCidr('192.168.0.0/16');
    const fib: Fib = { ...LOCAL, ifindex: 2, nextHop: ip('192.168.91.2') };
    const r = run(subnet, frame({ src: ip('192.168.5.1'), dst: ip('192.168.6.1') }), world(fib));
    expect(r.calls.map((c) => c.id)).toEqual([FIB_LOOKUP, REDIRECT]);
  });

  // ip_rcv drops a frame the NIC took for another host (a promiscuous underlay, a switch flooding unknown
  // unicast), and broadcast or multicast is never forwarded: all left to the stack
  test.each([[1, 'broadcast'], [2, 'multicast'], [3, 'another host']])('pkt_type %d (%s): left to the stack, no helper called', (pktType) => {
    const before = frame();
    const w = world();
    const r = runBpf(redirectProgram(SUBNET), { ...CTX, packet: Buffer.from(before), helper: w.helper, ctxFields: { [SKB.pktType]: pktType } });
    expect(r.verdict).toBe(TCX_NEXT);
    expect(r.calls).toEqual([]);
    expect(r.packet).toEqual(before);
  });
});
