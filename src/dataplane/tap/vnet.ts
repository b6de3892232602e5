/**
 * The virtio-net header a TAP opened with IFF_VNET_HDR puts before every frame it
 * reads and expects before every frame written (struct virtio_net_hdr, 10 bytes;
 * weft's TAPs use little-endian fields, TUNSETVNETLE):
 *
 *   flags u8 | gso_type u8 | hdr_len u16 | gso_size u16 | csum_start u16 | csum_offset u16
 *
 * With offloads on, the bridge hands the TAP TCP (and UDP GSO) super-frames of up to
 * 64 KiB: one Ethernet/IP/L4 header, then the payload of many segments, gso_size
 * bytes each, with the L4 checksum left partial (NEEDS_CSUM: the field holds the
 * pseudo-header sum, to be completed from csum_start). The sleeve carries header and
 * frame unchanged; the receiving kernel segments or completes the checksum where it
 * must. A super-frame too big for one sleeve datagram is split here, on segment
 * boundaries, into smaller super-frames (splitGso): what the kernel's own GSO would
 * do, a piece of many segments at a time.
 */
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../frames/ethernet';
import { IPPROTO_TCP, IPPROTO_UDP } from '../frames/ip';

export const VNET_HDR_BYTES = 10;

/** flags: the L4 checksum is partial, complete it from csum_start + csum_offset */
export const VNET_F_NEEDS_CSUM = 1;
/** flags (read only): the kernel already validated the checksum */
export const VNET_F_DATA_VALID = 2;

export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
/** gso_type bit: TCP with CWR set in the first segment */
export const GSO_ECN = 0x80;

// offsets inside the header
const FLAGS = 0;
const GSO_TYPE = 1;
const HDR_LEN = 2;
const GSO_SIZE = 4;
const CSUM_START = 6;
const CSUM_OFFSET = 8;

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** the header at the start of `frame`; RangeError (Buffer's) when it is shorter than 10 bytes */
export function readVnetHdr(frame: Buffer): VnetHdr {
  if (frame.length < VNET_HDR_BYTES) throw new RangeError(`a virtio-net header is ${VNET_HDR_BYTES} bytes, got ${frame.length}`);
  return {
    flags: frame[FLAGS]!,
    gsoType: frame[GSO_TYPE]!,
    hdrLen: frame.readUInt16LE(HDR_LEN),
    gsoSize: frame.readUInt16LE(GSO_SIZE),
    csumStart: frame.readUInt16LE(CSUM_START),
    csumOffset: frame.readUInt16LE(CSUM_OFFSET),
  };
}

export function writeVnetHdr(buf: Buffer, h: VnetHdr, offset = 0): void {
  buf[offset + FLAGS] = h.flags;
  buf[offset + GSO_TYPE] = h.gsoType;
  buf.writeUInt16LE(h.hdrLen, offset + HDR_LEN);
  buf.writeUInt16LE(h.gsoSize, offset + GSO_SIZE);
  buf.writeUInt16LE(h.csumStart, offset + CSUM_START);
  buf.writeUInt16LE(h.csumOffset, offset + CSUM_OFFSET);
}

/** a zeroed header (no offload: a complete frame) and the Ethernet frame after it, in one new buffer */
export function withVnetHdr(frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(VNET_HDR_BYTES + frame.length);
  out.fill(0, 0, VNET_HDR_BYTES);
  frame.copy(out, VNET_HDR_BYTES);
  return out;
}

/** true when the header asks for segmentation (gso_type other than NONE) */
export function isGso(frame: Buffer): boolean {
  return frame.length >= VNET_HDR_BYTES && frame[GSO_TYPE] !== GSO_NONE;
}

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/**
 * A GSO super-frame (header included) that splitGso can cut: TCPv4, TCPv6 or UDP
 * (USO) over untagged Ethernet, partial checksum, headers intact. Offsets count from
 * the start of the buffer (the virtio-net header).
 */
export interface GsoFrame {
  readonly frame: Buffer;
  readonly v4: boolean;
  readonly tcp: boolean;
  /** the IP header */
  readonly l3: number;
  /** the TCP/UDP header */
  readonly l4: number;
  /** where the payload starts: header + Ethernet + IP + L4 headers */
  readonly headers: number;
  readonly gsoSize: number;
  /** segments the payload makes (the last may be short) */
  readonly segments: number;
}

/**
 * The frame as a GsoFrame, or undefined when it is not one splitGso can cut (not GSO,
 * another protocol, VLAN-tagged, no partial checksum, or headers that do not add up).
 */
export function parseGso(frame: Buffer): GsoFrame | undefined {
  if (frame.length < VNET_HDR_BYTES + ETH_HLEN) return undefined;
  const type = frame[GSO_TYPE]! & ~GSO_ECN;
  if (type !== GSO_TCPV4 && type !== GSO_TCPV6 && type !== GSO_UDP_L4) return undefined;
  if ((frame[FLAGS]! & VNET_F_NEEDS_CSUM) === 0) return undefined;
  const gsoSize = frame.readUInt16LE(GSO_SIZE);
  if (gsoSize === 0) return undefined;
  const l3 = VNET_HDR_BYTES + ETH_HLEN;
  const l4 = VNET_HDR_BYTES + frame.readUInt16LE(CSUM_START);
  const ethType = frame.readUInt16BE(VNET_HDR_BYTES + 12);
  let v4: boolean;
  let proto: number;
  if (ethType === ETH_P_IP) {
    if (l3 + 20 > frame.length || frame[l3]! >> 4 !== 4) return undefined;
    v4 = true;
    proto = frame[l3 + 9]!;
    if (l4 !== l3 + (frame[l3]! & 0xf) * 4 || (type === GSO_TCPV6)) return undefined;
  } else if (ethType === ETH_P_IPV6) {
    if (l3 + 40 > frame.length || frame[l3]! >> 4 !== 6 || type === GSO_TCPV4) return undefined;
    v4 = false;
    // extension headers between IPv6 and L4: checksum start tells where L4 is; the next header must be it
    if (l4 !== l3 + 40) return undefined;
    proto = frame[l3 + 6]!;
  } else {
    return undefined;
  }
  const tcp = type !== GSO_UDP_L4;
  if (proto !== (tcp ? IPPROTO_TCP : IPPROTO_UDP)) return undefined;
  const csumOffset = frame.readUInt16LE(CSUM_OFFSET);
  if (csumOffset !== (tcp ? 16 : 6)) return undefined;
  if (l4 + (tcp ? 20 : 8) > frame.length) return undefined;
  const l4len = tcp ? (frame[l4 + 12]! >> 4) * 4 : 8;
  if (l4len < (tcp ? 20 : 8)) return undefined;
  const headers = l4 + l4len;
  if (headers >= frame.length) return undefined;
  return { frame, v4, tcp, l3, l4, headers, gsoSize, segments: Math.ceil((frame.length - headers) / gsoSize) };
}

/** one piece of a split: its headers (a new buffer) and its payload (a view of the original) */
export interface GsoPiece {
  head: Buffer;
  payload: Buffer;
}

/**
 * Segments [first, first + count) of g as one super-frame: headers copied and fixed
 * (IPv4 total length, id and header checksum; IPv6 payload length; TCP sequence, FIN
 * and PSH only on the last piece, CWR only on the first; UDP length; the L4 pseudo-header
 * checksum for the new length; the virtio-net hdr_len), payload a view.
 */
export function gsoPiece(g: GsoFrame, first: number, count: number): GsoPiece {
  const f = g.frame;
  const start = g.headers + first * g.gsoSize;
  const end = Math.min(f.length, start + count * g.gsoSize);
  if (first < 0 || count < 1 || start >= f.length) throw new RangeError(`no segments ${first}..${first + count - 1} in a frame of ${g.segments}`);
  const head = Buffer.allocUnsafe(g.headers);
  f.copy(head, 0, 0, g.headers);
  const payload = f.subarray(start, end);
  head.writeUInt16LE(g.headers - VNET_HDR_BYTES, HDR_LEN);
  const l4Bytes = g.headers - g.l4 + payload.length;
  if (g.v4) {
    const ihl = (head[g.l3]! & 0xf) * 4;
    head.writeUInt16BE(ihl + l4Bytes, g.l3 + 2);
    head.writeUInt16BE((f.readUInt16BE(g.l3 + 4) + first) & 0xffff, g.l3 + 4);
    head.writeUInt16BE(0, g.l3 + 10);
    head.writeUInt16BE(~sum16(head, g.l3, g.l3 + ihl, 0) & 0xffff, g.l3 + 10);
  } else {
    head.writeUInt16BE(g.l4 - g.l3 - 40 + l4Bytes, g.l3 + 4);
  }
  let check: number;
  if (g.tcp) {
    head.writeUInt32BE((f.readUInt32BE(g.l4 + 4) + first * g.gsoSize) >>> 0, g.l4 + 4);
    let flags = head[g.l4 + 13]!;
    if (end < f.length) flags &= ~(TCP_FIN | TCP_PSH);
    if (first > 0) flags &= ~TCP_CWR;
    head[g.l4 + 13] = flags;
    check = g.l4 + 16;
  } else {
    head.writeUInt16BE(l4Bytes, g.l4 + 4);
    check = g.l4 + 6;
  }
  head.writeUInt16BE(pseudoSum(head, g, l4Bytes), check);
  return { head, payload };
}

/**
 * Cuts g into super-frames of at most `max` bytes each (headers included), the first
 * at most `firstMax` (room left in a datagram being filled; too small for a segment:
 * the first piece is a full one). Undefined when `max` cannot hold one segment.
 */
export function splitGso(g: GsoFrame, max: number, firstMax = max): GsoPiece[] | undefined {
  const per = Math.floor((max - g.headers) / g.gsoSize);
  if (per < 1) return undefined;
  const pieces: GsoPiece[] = [];
  let first = 0;
  const lead = Math.floor((firstMax - g.headers) / g.gsoSize);
  if (lead >= 1 && lead < per) {
    pieces.push(gsoPiece(g, 0, Math.min(lead, g.segments)));
    first = lead;
  }
  for (; first < g.segments; first += per) pieces.push(gsoPiece(g, first, Math.min(per, g.segments - first)));
  return pieces;
}

/** the one's complement sum of the 16-bit big-endian words in buf[from, to), folded, plus `initial` */
function sum16(buf: Buffer, from: number, to: number, initial: number): number {
  let s = initial;
  for (let i = from; i + 1 < to; i += 2) s += buf.readUInt16BE(i);
  if ((to - from) & 1) s += buf[to - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** the L4 pseudo-header sum (not complemented), as a partial checksum holds it */
function pseudoSum(head: Buffer, g: GsoFrame, l4Bytes: number): number {
  const proto = g.tcp ? IPPROTO_TCP : IPPROTO_UDP;
  // IPv4: addresses at 12..20 of the header; IPv6: at 8..40; length fits 16 bits for IPv4, 32 for IPv6
  const s = g.v4 ? sum16(head, g.l3 + 12, g.l3 + 20, proto + l4Bytes) : sum16(head, g.l3 + 8, g.l3 + 40, proto + (l4Bytes >>> 16) + (l4Bytes & 0xffff));
  return s;
}
