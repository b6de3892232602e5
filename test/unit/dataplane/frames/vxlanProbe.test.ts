import { cidrOf, formatIp, isUsable, parseIp } from '../../../../src/addr/cidr';
import { ethDst, ethSrc, ETH_P_IP, ethType } from '../../../../src/dataplane/frames/ethernet';
import { IPPROTO_UDP } from '../../../../src/dataplane/frames/ip';
import { isGroupKey, macKeyOf, macText } from '../../../../src/dataplane/frames/mac';
import { encodeProbe } from '../../../../src/dataplane/frames/probe';
import { VNI_MAX, VNI_MIN } from '../../../../src/dataplane/frames/vni';
import {
  buildUdpFrame, buildVxlanDatagram, MAX_UDP_PAYLOAD, parseUdpFrame, parseVxlanDatagram,
  PROBE_DEVICE_MAC, PROBE_DEVICE_MAC_TEXT, PROBE_LOCAL_CIDR_TEXT, PROBE_LOCAL_IP, PROBE_LOCAL_IP_TEXT, PROBE_PORT, PROBE_PREFIX, PROBE_REMOTE_IP, PROBE_SOURCE_MAC, PROBE_VNI,
  VNI_LIMIT, VXLAN_FLAG_VNI, VXLAN_HLEN, VXLAN_PORT, type UdpFrameOptions,
} from '../../../../src/dataplane/frames/vxlanProbe';
import { expectRangeError, fixIpChecksum, fixUdpChecksum, hex, pseudoHeader, refChecksum, rng } from './helpers';

const NONCE = hex('11 22 33 44 55 66 77 88');
const PROBE_PAYLOAD = encodeProbe({ sender: '0123456789abcdef', nonce: NONCE });
const PROBE_OPTIONS: UdpFrameOptions = {
  srcMac: PROBE_SOURCE_MAC, dstMac: PROBE_DEVICE_MAC, srcIp: PROBE_REMOTE_IP, dstIp: PROBE_LOCAL_IP,
  srcPort: PROBE_PORT, dstPort: PROBE_PORT, payload: PROBE_PAYLOAD,
};
// computed outside this code base (Python, struct + RFC 1071), then checked below with the reference checksum
const PROBE_FRAME = hex(`
  7a 77 65 66 74 01 | 7a 77 65 66 74 02 | 08 00
  45 00 00 31 | 00 00 40 00 | 40 11 e6 c2 | a9 fe ff fd | a9 fe ff fe
  1a 81 1a 81 | 00 1d 53 70
  57 46 50 52 01 | 01 23 45 67 89 ab cd ef | 11 22 33 44 55 66 77 88`);

function opts(over: Partial<UdpFrameOptions> = {}): UdpFrameOptions {
  return {
    srcMac: macKeyOf('02:00:00:00:00:01'), dstMac: macKeyOf('02:00:00:00:00:02'), srcIp: parseIp('10.0.0.1'), dstIp: parseIp('10.0.0.2'),
    srcPort: 1000, dstPort: 2000, payload: Buffer.from('hello, world: twenty'), ...over,
  };
}

describe('the probe identity', () => {
  test('values', () => {
    expect(PROBE_VNI).toBe(0xfffffe);
    expect(macText(PROBE_DEVICE_MAC)).toBe('7a:77:65:66:74:01');
    expect(macText(PROBE_SOURCE_MAC)).toBe('7a:77:65:66:74:02');
    expect(formatIp(PROBE_LOCAL_IP)).toBe('169.254.255.254');
    expect(formatIp(PROBE_REMOTE_IP)).toBe('169.254.255.253');
    expect(PROBE_PREFIX).toBe(30);
    expect(PROBE_PORT).toBe(6785);
    expect(VXLAN_PORT).toBe(4789);
  });

  test('text forms for netlink and sockets match the numbers', () => {
    expect(PROBE_DEVICE_MAC_TEXT).toBe(macText(PROBE_DEVICE_MAC));
    expect(PROBE_LOCAL_IP_TEXT).toBe(formatIp(PROBE_LOCAL_IP));
    expect(PROBE_LOCAL_CIDR_TEXT).toBe('169.254.255.254/30');
  });

  test('MACs: locally administered unicast, and different (the kernel drops frames from its own address)', () => {
    for (const m of [PROBE_DEVICE_MAC, PROBE_SOURCE_MAC]) {
      expect(isGroupKey(m)).toBe(false);
      expect(Math.floor(m / 2 ** 40) & 2).toBe(2);
    }
    expect(PROBE_SOURCE_MAC).not.toBe(PROBE_DEVICE_MAC);
  });

  test('addresses: two distinct usable hosts of one link-local /30', () => {
    const net = cidrOf(PROBE_LOCAL_IP, PROBE_PREFIX);
    expect(isUsable(net, PROBE_LOCAL_IP)).toBe(true);
    expect(isUsable(net, PROBE_REMOTE_IP)).toBe(true);
    expect(PROBE_LOCAL_IP).not.toBe(PROBE_REMOTE_IP);
    expect(cidrOf(PROBE_LOCAL_IP, 16)).toEqual({ base: parseIp('169.254.0.0'), prefix: 16 });
  });

  test('the probe VNI fits 24 bits and is outside the network VNI range', () => {
    expect(PROBE_VNI).toBeLessThan(VNI_LIMIT);
    expect(PROBE_VNI > VNI_MAX || PROBE_VNI < VNI_MIN).toBe(true);
  });
});

describe('VXLAN header', () => {
  const inner = Buffer.from(PROBE_FRAME);

  test('byte-exact: flags 0x08, 3 reserved, 24-bit VNI, 1 reserved, then the frame', () => {
    expect(VXLAN_HLEN).toBe(8);
    expect(VXLAN_FLAG_VNI).toBe(0x08);
    expect(buildVxlanDatagram(0x123456, inner)).toEqual(Buffer.concat([hex('08 00 00 00 12 34 56 00'), inner]));
    expect(buildVxlanDatagram(0, inner).subarray(0, 8)).toEqual(hex('08 00 00 00 00 00 00 00'));
    expect(buildVxlanDatagram(0xffffff, inner).subarray(0, 8)).toEqual(hex('08 00 00 00 ff ff ff 00'));
    expect(buildVxlanDatagram(PROBE_VNI, inner).subarray(0, 8)).toEqual(hex('08 00 00 00 ff ff fe 00'));
  });

  test('the datagram is a copy of the frame', () => {
    const d = buildVxlanDatagram(1, inner);
    d[VXLAN_HLEN] ^= 0xff;
    expect(inner).toEqual(PROBE_FRAME);
  });

  test('builder rejects a VNI beyond 24 bits and a frame shorter than Ethernet', () => {
    for (const v of [-1, 0x1000000, 1.5, Number.NaN]) expectRangeError(() => buildVxlanDatagram(v, inner));
    expectRangeError(() => buildVxlanDatagram(1, Buffer.alloc(13)));
    expect(buildVxlanDatagram(1, Buffer.alloc(14)).length).toBe(22);
  });

  test('parse round-trips, the inner frame a view', () => {
    const d = buildVxlanDatagram(0xabcdef, inner);
    const p = parseVxlanDatagram(d);
    expect(p).toEqual({ vni: 0xabcdef, inner: PROBE_FRAME });
    expect(p!.inner.buffer).toBe(d.buffer);
    expect(parseVxlanDatagram(buildVxlanDatagram(PROBE_VNI, inner))?.vni).toBe(PROBE_VNI);
  });

  test('parse: undefined when shorter than header + Ethernet header, at every length', () => {
    const d = buildVxlanDatagram(7, Buffer.alloc(14, 0xaa));
    for (let n = 0; n < 22; n++) expect(parseVxlanDatagram(d.subarray(0, n))).toBeUndefined();
    expect(parseVxlanDatagram(d)).toEqual({ vni: 7, inner: Buffer.alloc(14, 0xaa) });
  });

  test('parse: undefined for any other flag bit, no I flag, or a non-zero reserved bit', () => {
    const d = buildVxlanDatagram(7, inner);
    for (const offset of [0, 1, 2, 3, 7]) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Buffer.from(d);
        m[offset]! ^= 1 << bit;
        expect(parseVxlanDatagram(m)).toBeUndefined();
      }
    }
    // every bit of the VNI itself is data
    for (const offset of [4, 5, 6]) {
      const m = Buffer.from(d);
      m[offset]! ^= 0xff;
      expect(parseVxlanDatagram(m)).toBeDefined();
    }
  });
});

describe('buildUdpFrame', () => {
  test('the probe frame, byte-exact', () => {
    expect(buildUdpFrame(PROBE_OPTIONS)).toEqual(PROBE_FRAME);
  });

  test('its checksums agree with the reference computation', () => {
    const ipHeader = Buffer.from(PROBE_FRAME.subarray(14, 34));
    expect(refChecksum(ipHeader)).toBe(0);
    ipHeader.writeUInt16BE(0, 10);
    expect(refChecksum(ipHeader)).toBe(0xe6c2);
    const udp = Buffer.from(PROBE_FRAME.subarray(34));
    udp.writeUInt16BE(0, 6);
    expect(refChecksum(pseudoHeader(hex('a9 fe ff fd'), hex('a9 fe ff fe'), 17, udp.length), udp)).toBe(0x5370);
  });

  test('the whole probe datagram as the prober sends it', () => {
    const d = buildVxlanDatagram(PROBE_VNI, buildUdpFrame(PROBE_OPTIONS));
    expect(d).toEqual(Buffer.concat([hex('08 00 00 00 ff ff fe 00'), PROBE_FRAME]));
    const v = parseVxlanDatagram(d)!;
    expect(ethDst(v.inner)).toBe(PROBE_DEVICE_MAC);
    expect(ethSrc(v.inner)).toBe(PROBE_SOURCE_MAC);
    expect(ethType(v.inner)).toBe(ETH_P_IP);
    expect(parseUdpFrame(v.inner)).toEqual({
      srcIp: PROBE_REMOTE_IP, dstIp: PROBE_LOCAL_IP, srcPort: PROBE_PORT, dstPort: PROBE_PORT, payload: PROBE_PAYLOAD,
    });
  });

  test('random frames: header fields in place, both checksums valid by the reference', () => {
    const r = rng(4789);
    for (let i = 0; i < 200; i++) {
      const b = r(16);
      const o = opts({
        srcIp: b.readUInt32BE(0), dstIp: b.readUInt32BE(4), srcPort: b.readUInt16BE(8), dstPort: b.readUInt16BE(10),
        ttl: 1 + (b[12]! % 255), payload: r(i * 3),
      });
      const f = buildUdpFrame(o);
      expect(f.length).toBe(Math.max(60, 42 + o.payload.length));
      expect(f.subarray(14, 24)).toEqual(Buffer.from([0x45, 0, (28 + o.payload.length) >> 8, (28 + o.payload.length) & 0xff, 0, 0, 0x40, 0, o.ttl!, 17]));
      expect(f.subarray(26, 34)).toEqual(b.subarray(0, 8));
      expect(refChecksum(f.subarray(14, 34))).toBe(0);
      const udp = f.subarray(34, 42 + o.payload.length);
      expect(udp.subarray(0, 6)).toEqual(Buffer.concat([b.subarray(8, 12), Buffer.from([udp.length >> 8, udp.length & 0xff])]));
      expect(udp.subarray(8).equals(o.payload)).toBe(true); // Buffer.equals: jest's deep equality is slow on kilobytes
      expect(udp.readUInt16BE(6)).not.toBe(0);
      // verifying over data with the checksum in place yields 0 (or, for the 0xffff form, the other zero)
      expect([0, 0xffff]).toContain(refChecksum(pseudoHeader(f.subarray(26, 30), f.subarray(30, 34), 17, udp.length), udp));
      const p = parseUdpFrame(f);
      expect(p).toMatchObject({ srcIp: o.srcIp, dstIp: o.dstIp, srcPort: o.srcPort, dstPort: o.dstPort });
      expect(p?.payload.equals(o.payload)).toBe(true);
    }
  });

  test('TTL defaults to 64', () => {
    expect(buildUdpFrame(opts())[22]).toBe(64);
    expect(buildUdpFrame(opts({ ttl: 1 }))[22]).toBe(1);
    expect(buildUdpFrame(opts({ ttl: 255 }))[22]).toBe(255);
  });

  test('a short frame is padded with zeros to 60 bytes; the lengths state the real size', () => {
    const f = buildUdpFrame(opts({ payload: hex('aa') }));
    expect(f.length).toBe(60);
    expect(f.readUInt16BE(16)).toBe(29);
    expect(f.readUInt16BE(38)).toBe(9);
    expect(f.subarray(43)).toEqual(Buffer.alloc(17));
    expect(parseUdpFrame(f)?.payload).toEqual(hex('aa'));
    expect(buildUdpFrame(opts({ payload: Buffer.alloc(0) })).length).toBe(60);
    expect(buildUdpFrame(opts({ payload: Buffer.alloc(18) })).length).toBe(60);
    expect(buildUdpFrame(opts({ payload: Buffer.alloc(19) })).length).toBe(61);
  });

  test('a computed checksum of 0 is sent as 0xffff', () => {
    // with a zero word in the payload the checksum is c; putting c there makes the sum all ones, the checksum 0
    const c = buildUdpFrame(opts({ payload: Buffer.alloc(2) })).readUInt16BE(40);
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(c, 0);
    const f = buildUdpFrame(opts({ payload }));
    expect(f.readUInt16BE(40)).toBe(0xffff);
    const udp = Buffer.from(f.subarray(34, 44));
    udp.writeUInt16BE(0, 6);
    expect(refChecksum(pseudoHeader(f.subarray(26, 30), f.subarray(30, 34), 17, 10), udp)).toBe(0);
    expect(parseUdpFrame(f)?.payload).toEqual(payload);
  });

  test('the largest payload one IPv4 packet carries', () => {
    expect(MAX_UDP_PAYLOAD).toBe(65507);
    const f = buildUdpFrame(opts({ payload: Buffer.alloc(MAX_UDP_PAYLOAD, 0x5a) }));
    expect(f.readUInt16BE(16)).toBe(0xffff);
    expect(parseUdpFrame(f)?.payload.length).toBe(MAX_UDP_PAYLOAD);
    expectRangeError(() => buildUdpFrame(opts({ payload: Buffer.alloc(MAX_UDP_PAYLOAD + 1) })));
  });

  test.each<[string, Partial<UdpFrameOptions>]>([
    ['source IP -1', { srcIp: -1 }],
    ['destination IP 2^32', { dstIp: 2 ** 32 }],
    ['fractional IP', { srcIp: 1.5 }],
    ['source port -1', { srcPort: -1 }],
    ['destination port 65536', { dstPort: 65536 }],
    ['fractional port', { srcPort: 80.5 }],
    ['TTL 0', { ttl: 0 }],
    ['TTL 256', { ttl: 256 }],
    ['fractional TTL', { ttl: 1.5 }],
    ['source MAC 2^48', { srcMac: 2 ** 48 }],
    ['destination MAC -1', { dstMac: -1 }],
  ])('rejects %s', (_what, over) => {
    expectRangeError(() => buildUdpFrame(opts(over)));
  });

  test('ports 0 and 65535 are carried', () => {
    const f = buildUdpFrame(opts({ srcPort: 0, dstPort: 65535 }));
    expect(parseUdpFrame(f)).toMatchObject({ srcPort: 0, dstPort: 65535 });
  });
});

describe('parseUdpFrame', () => {
  // long enough that no Ethernet padding is involved: every cut is inside the packet
  const frame = buildUdpFrame(opts({ payload: Buffer.from('a payload long enough for no padding') }));

  function mutate(fn: (f: Buffer) => void, fix: 'ip' | 'both' | 'none' = 'both'): Buffer {
    const f = Buffer.from(frame);
    fn(f);
    if (fix !== 'none') fixIpChecksum(f);
    if (fix === 'both') fixUdpChecksum(f);
    return f;
  }

  test('undefined when truncated at any byte', () => {
    for (let n = 0; n < frame.length; n++) expect(parseUdpFrame(frame.subarray(0, n))).toBeUndefined();
    expect(parseUdpFrame(frame)).toBeDefined();
  });

  test('the payload is a view into the frame', () => {
    expect(parseUdpFrame(frame)!.payload.buffer).toBe(frame.buffer);
  });

  test('Ethernet padding after the packet is ignored', () => {
    const f = Buffer.concat([frame, Buffer.alloc(9, 0xee)]);
    expect(parseUdpFrame(f)?.payload.toString()).toBe('a payload long enough for no padding');
  });

  test('IP options are skipped (IHL 6 and 15)', () => {
    for (const words of [1, 10]) {
      const opt = Buffer.alloc(words * 4, 0x01); // NOP options
      const f = Buffer.concat([frame.subarray(0, 34), opt, frame.subarray(34)]);
      f[14] = 0x45 + words;
      f.writeUInt16BE(frame.readUInt16BE(16) + opt.length, 16);
      fixIpChecksum(f);
      fixUdpChecksum(f);
      expect(parseUdpFrame(f)).toEqual(parseUdpFrame(frame));
    }
  });

  test('DF alone is fine, so is a clear DF', () => {
    expect(parseUdpFrame(mutate((f) => f.writeUInt16BE(0x0000, 20)))).toBeDefined();
    expect(parseUdpFrame(mutate((f) => f.writeUInt16BE(0x4000, 20)))).toBeDefined();
  });

  test('a UDP length shorter than the IP payload trims the payload (as Linux does)', () => {
    const f = mutate((x) => x.writeUInt16BE(x.readUInt16BE(38) - 5, 38));
    expect(parseUdpFrame(f)?.payload.toString()).toBe('a payload long enough for no pa');
  });

  test('checksum 0 means none: accepted without verifying', () => {
    const f = mutate((x) => {
      x.writeUInt16BE(0, 40);
      x[45] ^= 0xff;
    }, 'ip');
    expect(parseUdpFrame(f)).toBeDefined();
  });

  test.each<[string, (f: Buffer) => void, 'ip' | 'both' | 'none']>([
    ['ethertype ARP', (f) => f.writeUInt16BE(0x0806, 12), 'both'],
    ['ethertype IPv6', (f) => f.writeUInt16BE(0x86dd, 12), 'both'],
    ['version 6', (f) => { f[14] = 0x65; }, 'both'],
    ['version 0', (f) => { f[14] = 0x05; }, 'both'],
    ['IHL 0', (f) => { f[14] = 0x40; }, 'none'],
    ['IHL 4', (f) => { f[14] = 0x44; }, 'none'],
    ['IHL past the total length', (f) => { f[14] = 0x4f; }, 'none'],
    ['total length below header + UDP header', (f) => f.writeUInt16BE(27, 16), 'ip'],
    ['total length past the frame', (f) => f.writeUInt16BE(f.length - 13, 16), 'ip'],
    ['MF set (first fragment)', (f) => f.writeUInt16BE(0x2000, 20), 'ip'],
    ['fragment offset 1', (f) => f.writeUInt16BE(0x4001, 20), 'ip'],
    ['fragment offset max', (f) => f.writeUInt16BE(0x1fff, 20), 'ip'],
    ['protocol TCP', (f) => { f[23] = 6; }, 'ip'],
    ['protocol ICMP', (f) => { f[23] = 1; }, 'ip'],
    ['a bad IP header checksum', (f) => { f[24] ^= 1; }, 'none'],
    ['a changed source address, checksum not updated', (f) => { f[26] ^= 1; }, 'none'],
    ['UDP length 7', (f) => f.writeUInt16BE(7, 38), 'both'],
    ['UDP length 0', (f) => f.writeUInt16BE(0, 38), 'ip'],
    ['UDP length past the IP payload', (f) => f.writeUInt16BE(f.readUInt16BE(38) + 1, 38), 'ip'],
    ['a bad UDP checksum', (f) => { f[40] ^= 1; }, 'none'],
    ['a changed payload byte', (f) => { f[50] ^= 1; }, 'none'],
    ['a changed port', (f) => { f[34] ^= 1; }, 'none'],
  ])('undefined for %s', (_what, fn, fix) => {
    expect(parseUdpFrame(mutate(fn, fix))).toBeUndefined();
  });

  test('every IHL from 0 to 15 on an option-less packet: only 5 parses', () => {
    for (let ihl = 0; ihl < 16; ihl++) {
      const f = mutate((x) => { x[14] = 0x40 | ihl; }, 'none');
      if (ihl === 5) expect(parseUdpFrame(f)).toBeDefined();
      else expect(parseUdpFrame(f)).toBeUndefined();
    }
  });

  test('protocol constant', () => {
    expect(IPPROTO_UDP).toBe(17);
  });
});
