/**
 * GSO super-frames for tests, and a reference segmenter, written independently of
 * src/dataplane/tap/vnet.ts: headers are laid out field by field here, and segments
 * get complete checksums (RFC 1071, summed with an end-around carry at every step),
 * the way the kernel's software GSO would hand them to a wire.
 */
import { pseudoHeader, refChecksum } from '../frames/helpers';

export interface GsoSpec {
  v6?: boolean;
  udp?: boolean;
  /** bytes of payload */
  payload: Buffer;
  mss: number;
  /** TCP flags of the super-frame (default ACK|PSH) */
  tcpFlags?: number;
  /** TCP options bytes (a multiple of 4) */
  tcpOptions?: number;
  /** IPv4 options bytes (a multiple of 4) */
  ipOptions?: number;
  seq?: number;
  ipId?: number;
  /** virtio-net flags byte (default NEEDS_CSUM) */
  vnetFlags?: number;
  /** gso_type override (default TCPV4 / TCPV6 / UDP_L4) */
  gsoType?: number;
}

export const SRC4 = Buffer.from([10, 32, 0, 2]);
export const DST4 = Buffer.from([10, 32, 128, 9]);
export const SRC6 = Buffer.from('fd00000000000000000000000000a002', 'hex');
export const DST6 = Buffer.from('fd00000000000000000000000000b009', 'hex');
const MAC_DST = Buffer.from('02420a208009', 'hex');
const MAC_SRC = Buffer.from('02420a200002', 'hex');

export const TCP_FIN = 0x01;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_CWR = 0x80;

/** the sum (not complemented) of a pseudo-header, as a partial checksum holds it: 0xffff - refChecksum */
function pseudoSeed(spec: GsoSpec, l4Length: number): number {
  const proto = spec.udp ? 17 : 6;
  const ph = spec.v6
    ? Buffer.concat([SRC6, DST6, Buffer.from([l4Length >>> 24, (l4Length >>> 16) & 0xff, (l4Length >>> 8) & 0xff, l4Length & 0xff, 0, 0, 0, proto])])
    : pseudoHeader(SRC4, DST4, proto, l4Length);
  return 0xffff - refChecksum(ph);
}

/**
 * A super-frame as a TAP with offloads reads it: virtio-net header (little-endian),
 * Ethernet, IPv4 or IPv6, TCP or UDP, the payload; the L4 checksum field holds the
 * pseudo-header sum for the whole length (partial, NEEDS_CSUM).
 */
export function superFrame(spec: GsoSpec): Buffer {
  const ipOpt = spec.v6 ? 0 : (spec.ipOptions ?? 0);
  const l3len = spec.v6 ? 40 : 20 + ipOpt;
  const l4hdr = spec.udp ? 8 : 20 + (spec.tcpOptions ?? 0);
  const l4 = 10 + 14 + l3len;
  const total = l4 + l4hdr + spec.payload.length;
  const f = Buffer.alloc(total);
  // virtio_net_hdr
  f[0] = spec.vnetFlags ?? 1;
  f[1] = spec.gsoType ?? (spec.udp ? 5 : spec.v6 ? 4 : 1);
  f.writeUInt16LE(14 + l3len + l4hdr, 2);
  f.writeUInt16LE(spec.mss, 4);
  f.writeUInt16LE(14 + l3len, 6);
  f.writeUInt16LE(spec.udp ? 6 : 16, 8);
  // Ethernet
  MAC_DST.copy(f, 10);
  MAC_SRC.copy(f, 16);
  f.writeUInt16BE(spec.v6 ? 0x86dd : 0x0800, 22);
  const l3 = 24;
  const l4Length = l4hdr + spec.payload.length;
  if (spec.v6) {
    f[l3] = 0x60;
    f.writeUInt16BE(l4Length, l3 + 4);
    f[l3 + 6] = spec.udp ? 17 : 6;
    f[l3 + 7] = 64;
    SRC6.copy(f, l3 + 8);
    DST6.copy(f, l3 + 24);
  } else {
    f[l3] = 0x40 | (l3len / 4);
    f.writeUInt16BE(l3len + l4Length, l3 + 2);
    f.writeUInt16BE(spec.ipId ?? 0x1234, l3 + 4);
    f.writeUInt16BE(0x4000, l3 + 6); // DF
    f[l3 + 8] = 64;
    f[l3 + 9] = spec.udp ? 17 : 6;
    SRC4.copy(f, l3 + 12);
    DST4.copy(f, l3 + 16);
    for (let i = 0; i < ipOpt; i++) f[l3 + 20 + i] = 1; // NOPs
    f.writeUInt16BE(refChecksum(f.subarray(l3, l3 + l3len)), l3 + 10);
  }
  f.writeUInt16BE(40000, l4);
  f.writeUInt16BE(5201, l4 + 2);
  if (spec.udp) {
    f.writeUInt16BE(l4Length > 0xffff ? 0 : l4Length, l4 + 4);
    f.writeUInt16BE(pseudoSeed(spec, l4Length), l4 + 6);
  } else {
    f.writeUInt32BE(spec.seq ?? 0xfffff000, l4 + 4); // wraps within a few segments
    f.writeUInt32BE(0x01020304, l4 + 8);
    f[l4 + 12] = (l4hdr / 4) << 4;
    f[l4 + 13] = spec.tcpFlags ?? TCP_ACK | TCP_PSH;
    f.writeUInt16BE(501, l4 + 14);
    for (let i = 20; i < l4hdr; i++) f[l4 + i] = 1; // NOPs
    f.writeUInt16BE(pseudoSeed(spec, l4Length), l4 + 16);
  }
  spec.payload.copy(f, l4 + l4hdr);
  return f;
}

/** the frame's layout, found the textbook way (not from the virtio-net header) */
function layout(frame: Buffer): { v6: boolean; l3: number; l4: number; udp: boolean; data: number } {
  const l3 = 24;
  const v6 = frame.readUInt16BE(22) === 0x86dd;
  const l4 = v6 ? l3 + 40 : l3 + (frame[l3]! & 0xf) * 4;
  const udp = (v6 ? frame[l3 + 6] : frame[l3 + 9]) === 17;
  return { v6, l3, l4, udp, data: l4 + (udp ? 8 : (frame[l4 + 12]! >> 4) * 4) };
}

/**
 * What the kernel's software GSO makes of a super-frame (virtio-net header included):
 * Ethernet frames of one segment each, every checksum complete. A frame that is not
 * GSO (gso_type 0) comes back as itself with its checksum completed.
 */
export function segment(frame: Buffer): Buffer[] {
  const { v6, l3, l4, udp, data } = layout(frame);
  const gso = frame[1] !== 0;
  const mss = gso ? frame.readUInt16LE(4) : frame.length - data;
  const out: Buffer[] = [];
  const n = Math.max(1, Math.ceil((frame.length - data) / mss));
  for (let i = 0; i < n; i++) {
    const payload = frame.subarray(data + i * mss, Math.min(frame.length, data + (i + 1) * mss));
    const s = Buffer.concat([frame.subarray(10, data), payload]);
    const [S3, S4, SD] = [l3 - 10, l4 - 10, data - 10];
    const l4Length = SD - S4 + payload.length;
    if (v6) {
      s.writeUInt16BE(l4Length, S3 + 4);
    } else {
      s.writeUInt16BE(S4 - S3 + l4Length, S3 + 2);
      s.writeUInt16BE((frame.readUInt16BE(l3 + 4) + i) % 65536, S3 + 4);
      s.writeUInt16BE(0, S3 + 10);
      s.writeUInt16BE(refChecksum(s.subarray(S3, S4)), S3 + 10);
    }
    let check: number;
    if (udp) {
      s.writeUInt16BE(l4Length, S4 + 4);
      check = S4 + 6;
    } else {
      s.writeUInt32BE((frame.readUInt32BE(l4 + 4) + i * mss) % 2 ** 32, S4 + 4);
      let flags = frame[l4 + 13]!;
      if (i < n - 1) flags &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) flags &= ~TCP_CWR;
      s[S4 + 13] = flags;
      check = S4 + 16;
    }
    s.writeUInt16BE(0, check);
    const proto = udp ? 17 : 6;
    const ph = v6
      ? Buffer.concat([s.subarray(S3 + 8, S3 + 40), Buffer.from([0, 0, l4Length >> 8, l4Length & 0xff, 0, 0, 0, proto])])
      : pseudoHeader(s.subarray(S3 + 12, S3 + 16), s.subarray(S3 + 16, S3 + 20), proto, l4Length);
    const c = refChecksum(ph, s.subarray(S4));
    s.writeUInt16BE(udp && c === 0 ? 0xffff : c, check);
    out.push(s);
  }
  return out;
}

/**
 * Completes a partial checksum as a NIC (or the kernel's skb_checksum_help) does for a
 * frame sent whole: the one's complement of the sum from csum_start to the end, with the
 * checksum field's seed in it. Returns the Ethernet frame (no virtio-net header).
 */
export function completeChecksum(frame: Buffer): Buffer {
  const s = Buffer.from(frame.subarray(10));
  const start = frame.readUInt16LE(6);
  const at = start + frame.readUInt16LE(8);
  const c = refChecksum(s.subarray(start));
  s.writeUInt16BE(c, at);
  return s;
}

/** true when the L4 checksum of an Ethernet frame (IPv4 or IPv6, TCP or UDP) verifies */
export function l4ChecksumOk(eth: Buffer): boolean {
  const v6 = eth.readUInt16BE(12) === 0x86dd;
  const l3 = 14;
  const l4 = v6 ? l3 + 40 : l3 + (eth[l3]! & 0xf) * 4;
  const proto = v6 ? eth[l3 + 6]! : eth[l3 + 9]!;
  const len = eth.length - l4;
  const ph = v6
    ? Buffer.concat([eth.subarray(l3 + 8, l3 + 40), Buffer.from([len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 0, 0, 0, proto])])
    : pseudoHeader(eth.subarray(l3 + 12, l3 + 16), eth.subarray(l3 + 16, l3 + 20), proto, len);
  return refChecksum(ph, eth.subarray(l4)) === 0;
}
