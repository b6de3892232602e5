import {
  GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP, GSO_UDP_L4, gsoPiece, isGso, parseGso, readVnetHdr, splitGso,
  VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, VNET_HDR_BYTES, withVnetHdr, writeVnetHdr,
} from '../../../../src/dataplane/tap/vnet';
import { hex, rng } from '../frames/helpers';
import { completeChecksum, type GsoSpec, l4ChecksumOk, segment, superFrame, TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH } from './gso';

const bytes = rng(0x5eed);

test('constants are the kernel\'s (include/uapi/linux/virtio_net.h)', () => {
  expect([VNET_HDR_BYTES, VNET_F_NEEDS_CSUM, VNET_F_DATA_VALID]).toEqual([10, 1, 2]);
  expect([GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_UDP_L4, GSO_ECN]).toEqual([0, 1, 3, 4, 5, 0x80]);
});

describe('the header', () => {
  const h = { flags: 1, gsoType: 0x84, hdrLen: 0x0102, gsoSize: 1398, csumStart: 34, csumOffset: 16 };
  const wire = hex('01 84 | 02 01 | 76 05 | 22 00 | 10 00'); // little-endian u16s

  test('reads and writes little-endian fields, byte-exact', () => {
    const b = Buffer.alloc(12, 0xee);
    writeVnetHdr(b, h, 1);
    expect(b).toEqual(Buffer.concat([hex('ee'), wire, hex('ee')]));
    expect(readVnetHdr(Buffer.concat([wire, hex('aabb')]))).toEqual(h);
  });

  test('a buffer shorter than a header is a RangeError', () => {
    expect(() => readVnetHdr(Buffer.alloc(9))).toThrow(RangeError);
  });

  test('withVnetHdr: a zeroed header, then the frame, copied', () => {
    const frame = bytes(60);
    const out = withVnetHdr(frame);
    expect(out).toEqual(Buffer.concat([Buffer.alloc(10), frame]));
    frame.fill(0);
    expect(out.subarray(10).equals(frame)).toBe(false);
    expect(isGso(out)).toBe(false);
  });

  test('isGso looks at gso_type only', () => {
    expect(isGso(Buffer.concat([hex('00 01'), Buffer.alloc(30)]))).toBe(true);
    expect(isGso(Buffer.concat([hex('01 00'), Buffer.alloc(30)]))).toBe(false);
    expect(isGso(hex('00 01'))).toBe(false);
  });
});

describe('parseGso', () => {
  test.each<[string, GsoSpec, { v4: boolean; tcp: boolean; l4: number; headers: number }]>([
    ['TCPv4', { payload: bytes(5000), mss: 1398 }, { v4: true, tcp: true, l4: 10 + 14 + 20, headers: 10 + 14 + 20 + 20 }],
    ['TCPv4 with IP and TCP options', { payload: bytes(5000), mss: 1386, ipOptions: 8, tcpOptions: 12 }, { v4: true, tcp: true, l4: 10 + 14 + 28, headers: 10 + 14 + 28 + 32 }],
    ['TCPv6', { v6: true, payload: bytes(5000), mss: 1378 }, { v4: false, tcp: true, l4: 10 + 14 + 40, headers: 10 + 14 + 40 + 20 }],
    ['UDPv4 (USO)', { udp: true, payload: bytes(5000), mss: 1400 }, { v4: true, tcp: false, l4: 10 + 14 + 20, headers: 10 + 14 + 20 + 8 }],
    ['UDPv6 (USO)', { udp: true, v6: true, payload: bytes(5000), mss: 1400 }, { v4: false, tcp: false, l4: 10 + 14 + 40, headers: 10 + 14 + 40 + 8 }],
  ])('%s', (_what, spec, want) => {
    const f = superFrame(spec);
    const g = parseGso(f)!;
    expect(g).toMatchObject({ ...want, l3: 24, gsoSize: spec.mss });
    expect(g.segments).toBe(Math.ceil(5000 / spec.mss));
    expect(g.frame).toBe(f);
  });

  test('the ECN bit in gso_type is fine', () => {
    expect(parseGso(superFrame({ payload: bytes(3000), mss: 1000, gsoType: GSO_TCPV4 | GSO_ECN }))).toBeDefined();
  });

  test.each<[string, (f: Buffer) => void]>([
    ['not GSO', (f) => void (f[1] = GSO_NONE)],
    ['legacy UFO', (f) => void (f[1] = GSO_UDP)],
    ['no partial checksum', (f) => void (f[0] = 0)],
    ['gso_size 0', (f) => f.writeUInt16LE(0, 4)],
    ['TCPV6 on IPv4', (f) => void (f[1] = GSO_TCPV6)],
    ['UDP_L4 on a TCP segment', (f) => void (f[1] = GSO_UDP_L4)],
    ['a VLAN tag', (f) => f.writeUInt16BE(0x8100, 22)],
    ['ARP', (f) => f.writeUInt16BE(0x0806, 22)],
    ['IP version 6 in an IPv4 frame', (f) => void (f[24] = 0x65)],
    ['csum_start not after the IP header', (f) => f.writeUInt16LE(38, 6)],
    ['csum_offset not the TCP checksum', (f) => f.writeUInt16LE(6, 8)],
    ['another protocol in the IP header', (f) => void (f[24 + 9] = 17)],
    ['a TCP data offset under 5 words', (f) => void (f[44 + 12] = 0x40)],
  ])('undefined for %s', (_what, spoil) => {
    const f = superFrame({ payload: bytes(3000), mss: 1000 });
    expect(parseGso(f)).toBeDefined();
    spoil(f);
    expect(parseGso(f)).toBeUndefined();
  });

  test('undefined for IPv6 with an extension header before TCP, and for frames cut short', () => {
    const f = superFrame({ v6: true, payload: bytes(3000), mss: 1000 });
    f.writeUInt16LE(14 + 48, 6); // csum_start 8 bytes after the fixed header
    expect(parseGso(f)).toBeUndefined();
    const whole = superFrame({ payload: bytes(3000), mss: 1000 });
    for (const n of [0, 10, 23, 30, 43, 60, 64]) expect(parseGso(whole.subarray(0, n))).toBeUndefined();
    expect(parseGso(whole.subarray(0, 65))).toBeDefined(); // headers and one payload byte
  });
});

describe('gsoPiece', () => {
  test('segments 3..5 of a TCPv4 super-frame: every header field that changes, byte-exact', () => {
    const payload = bytes(10 * 1000 + 123);
    const f = superFrame({ payload, mss: 1000, seq: 0xfffff000, ipId: 0xfffe, tcpFlags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR });
    const g = parseGso(f)!;
    const { head, payload: p } = gsoPiece(g, 3, 3);
    expect(head.length).toBe(64);
    expect(p.buffer).toBe(f.buffer); // a view
    expect(p.byteOffset).toBe(f.byteOffset + 64 + 3000);
    expect(p.equals(payload.subarray(3000, 6000))).toBe(true);
    // virtio-net: flags, type, hdr_len (Ethernet + IP + TCP = 54), gso_size, csum_start, csum_offset
    expect(head.subarray(0, 10)).toEqual(hex('01 01 | 36 00 | e8 03 | 22 00 | 10 00'));
    // IPv4: total length 20 + 20 + 3000 = 3040 (0x0be0), id 0xfffe + 3 wraps to 1, checksum recomputed
    expect(head.readUInt16BE(24 + 2)).toBe(3040);
    expect(head.readUInt16BE(24 + 4)).toBe(1);
    expect(head.subarray(24, 44).equals(f.subarray(24, 44))).toBe(false);
    const ipSum = (b: Buffer) => {
      let s = 0;
      for (let i = 0; i < 20; i += 2) s += b.readUInt16BE(i);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    expect(ipSum(head.subarray(24, 44))).toBe(0xffff);
    // TCP: seq + 3000 wraps, a middle piece: no FIN, no PSH, no CWR; ACK kept
    expect(head.readUInt32BE(44 + 4)).toBe((0xfffff000 + 3000) % 2 ** 32);
    expect(head[44 + 13]).toBe(TCP_ACK);
    // and the partial checksum is the pseudo-header sum for 3020 bytes of TCP: 10.32.0.2 + 10.32.128.9 + 6 + 3020
    let seed = 0x0a20 + 0x0002 + 0x0a20 + 0x8009 + 6 + 3020;
    while (seed > 0xffff) seed = (seed & 0xffff) + (seed >>> 16);
    expect(head.readUInt16BE(44 + 16)).toBe(seed);
    // the original is untouched
    expect(f.equals(superFrame({ payload, mss: 1000, seq: 0xfffff000, ipId: 0xfffe, tcpFlags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR }))).toBe(true);
  });

  test('first and last pieces keep CWR and FIN/PSH respectively', () => {
    const f = superFrame({ payload: bytes(5000), mss: 1000, tcpFlags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR });
    const g = parseGso(f)!;
    expect(gsoPiece(g, 0, 2).head[44 + 13]).toBe(TCP_ACK | TCP_CWR);
    expect(gsoPiece(g, 2, 3).head[44 + 13]).toBe(TCP_ACK | TCP_PSH | TCP_FIN);
    expect(gsoPiece(g, 0, 5).head[44 + 13]).toBe(TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR);
  });

  test('segments that are not there are a RangeError', () => {
    const g = parseGso(superFrame({ payload: bytes(5000), mss: 1000 }))!;
    expect(() => gsoPiece(g, 5, 1)).toThrow(RangeError);
    expect(() => gsoPiece(g, 0, 0)).toThrow(RangeError);
    expect(() => gsoPiece(g, -1, 2)).toThrow(RangeError);
  });
});

describe('splitGso: the pieces segment into exactly the segments of the original', () => {
  const concat = (pieces: Array<{ head: Buffer; payload: Buffer }>) => pieces.map((p) => Buffer.concat([p.head, p.payload]));

  test.each<[string, GsoSpec, number, number | undefined]>([
    ['TCPv4, 64 KiB at MSS 1448 into 64932-byte pieces', { payload: bytes(45 * 1448), mss: 1448 }, 64932, undefined],
    ['TCPv4, a short last segment', { payload: bytes(20 * 1398 + 77), mss: 1398, tcpFlags: TCP_ACK | TCP_PSH | TCP_FIN }, 10000, undefined],
    ['TCPv4 with options, CWR', { payload: bytes(30 * 1386 + 5), mss: 1386, ipOptions: 4, tcpOptions: 12, tcpFlags: TCP_ACK | TCP_CWR, seq: 0xffffff00 }, 8000, undefined],
    ['TCPv6', { v6: true, payload: bytes(44 * 1428), mss: 1428 }, 30000, undefined],
    ['UDPv4', { udp: true, payload: bytes(40 * 1472 + 100), mss: 1472 }, 20000, undefined],
    ['UDPv6', { udp: true, v6: true, payload: bytes(40 * 1452), mss: 1452 }, 20000, undefined],
    ['TCPv4, the first piece fills 5000 bytes left in a datagram', { payload: bytes(45 * 1448), mss: 1448 }, 64932, 5000],
    ['TCPv4, room for less than a segment: no short first piece', { payload: bytes(45 * 1448), mss: 1448 }, 64932, 1500],
  ])('%s', (_what, spec, max, firstMax) => {
    const f = superFrame(spec);
    const g = parseGso(f)!;
    const pieces = splitGso(g, max, firstMax)!;
    const frames = concat(pieces);
    expect(frames.length).toBeGreaterThan(1);
    for (const p of frames) expect(p.length).toBeLessThanOrEqual(max);
    if (firstMax !== undefined && firstMax - g.headers >= spec.mss) expect(frames[0]!.length).toBeLessThanOrEqual(firstMax);
    // every piece but the last is a whole number of segments
    for (const p of frames.slice(0, -1)) expect((p.length - g.headers) % spec.mss).toBe(0);
    // (compared as lengths and one concatenation: jest's deep equality of ~45 buffers is slow)
    const [mine, ref] = [frames.flatMap(segment), segment(f)];
    expect(mine.map((x) => x.length)).toEqual(ref.map((x) => x.length));
    expect(Buffer.concat(mine).equals(Buffer.concat(ref))).toBe(true);
    // and each piece, were it sent whole, has a correct checksum once completed from its seed
    for (const p of frames) expect(l4ChecksumOk(completeChecksum(p))).toBe(true);
    // the virtio-net header stays what it was but for hdr_len
    for (const p of frames) {
      expect(readVnetHdr(p)).toEqual({ ...readVnetHdr(f), hdrLen: g.headers - VNET_HDR_BYTES });
    }
  });

  test('the first piece takes as many whole segments as the room allows, the rest are as large as max allows', () => {
    const g = parseGso(superFrame({ payload: bytes(45 * 1448), mss: 1448 }))!; // 64 headers
    const sizes = concat(splitGso(g, 64932, 5000)!).map((p) => (p.length - 64) / 1448);
    expect(sizes).toEqual([3, 42]); // (5000 - 64) / 1448 = 3.4; (64932 - 64) / 1448 = 44.8
    expect(concat(splitGso(g, 20000)!).map((p) => Math.ceil((p.length - 64) / 1448))).toEqual([13, 13, 13, 6]);
  });

  test('a max that cannot hold one segment: undefined', () => {
    const g = parseGso(superFrame({ payload: bytes(5000), mss: 1448 }))!;
    expect(splitGso(g, 64 + 1447)).toBeUndefined();
    expect(splitGso(g, 64 + 1448)).toHaveLength(4);
  });

  test('a completed checksum of the reference segments verifies (the helpers agree with each other)', () => {
    for (const spec of [{ payload: bytes(3000), mss: 1000 }, { v6: true, udp: true, payload: bytes(3000), mss: 1000 }]) {
      for (const s of segment(superFrame(spec))) expect(l4ChecksumOk(s)).toBe(true);
    }
  });
});
