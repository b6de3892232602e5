/**
 * The fast-path probe on the wire. weft sends, from its ordinary UDP socket, a
 * VXLAN datagram to a peer's VXLAN port whose inner frame is Ethernet/IPv4/UDP
 * addressed to a dedicated probe VXLAN device on the peer. Only if the peer's
 * kernel decapsulates it (the port is open, the kernel path works) does the
 * inner payload reach the peer's weft, which acks over the mesh. The inner
 * headers are built here because no kernel stack is involved on our side.
 */
import { isIp, parseIp, type Ip } from '../../addr/cidr';
import { fold, internetChecksum, pseudoHeaderSum, sum16 } from './checksum';
import { allocFrame, ETH_HLEN, ETH_P_IP, ethType, writeEthHeader } from './ethernet';
import { IPPROTO_UDP } from './ip';
import { macKeyOf, type MacKey } from './mac';

export const VXLAN_PORT = 4789;
export const VXLAN_HLEN = 8;
/** the I flag: the VNI field is valid (RFC 7348); weft sets no other */
export const VXLAN_FLAG_VNI = 0x08;
export const VNI_LIMIT = 0x100_0000;

const IPV4_HLEN = 20;
const UDP_HLEN = 8;
const IP_DF = 0x4000;
/** MF and the fragment offset: any of them set means a fragment */
const IP_FRAGMENT_BITS = 0x3fff;
const DEFAULT_TTL = 64;
/** the most payload one unfragmented IPv4 UDP datagram carries */
export const MAX_UDP_PAYLOAD = 0xffff - IPV4_HLEN - UDP_HLEN;

// The probe identity, the same on every host (it lives on the dedicated probe device, never on a network).
// Numbers for building frames; the *_TEXT forms are for netlink and sockets, which take text.
export const PROBE_VNI = 0xfffffe;
/** the probe device's own address: locally administered (0x02), unicast (not 0x01); "zweft" */
export const PROBE_DEVICE_MAC_TEXT = '7a:77:65:66:74:01';
export const PROBE_DEVICE_MAC: MacKey = macKeyOf(PROBE_DEVICE_MAC_TEXT);
/** the inner source: it must differ from the device's address, or the kernel drops the frame as looped back */
export const PROBE_SOURCE_MAC: MacKey = macKeyOf('7a:77:65:66:74:02');
export const PROBE_PREFIX = 30;
/** on the probe device as PROBE_LOCAL_IP/PROBE_PREFIX; link-local, so never routed anywhere */
export const PROBE_LOCAL_IP_TEXT = '169.254.255.254';
export const PROBE_LOCAL_IP: Ip = parseIp(PROBE_LOCAL_IP_TEXT);
/** the address to put on the probe device */
export const PROBE_LOCAL_CIDR_TEXT = `${PROBE_LOCAL_IP_TEXT}/${PROBE_PREFIX}`;
/** the inner source, inside the device's /30 so reverse-path filtering accepts it */
export const PROBE_REMOTE_IP: Ip = parseIp('169.254.255.253');
export const PROBE_PORT = 6785;

export interface UdpFrameOptions {
  srcMac: MacKey;
  dstMac: MacKey;
  srcIp: Ip;
  dstIp: Ip;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** default 64 */
  ttl?: number;
}

export interface UdpDatagram {
  srcIp: Ip;
  dstIp: Ip;
  srcPort: number;
  dstPort: number;
  /** a view into the frame, not a copy */
  payload: Buffer;
}

export interface VxlanDatagram {
  vni: number;
  /** a view into the datagram, not a copy */
  inner: Buffer;
}

function isU16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

/** VXLAN header + the inner frame. RangeError for a VNI beyond 24 bits or an inner frame shorter than an Ethernet header. */
export function buildVxlanDatagram(vni: number, innerFrame: Buffer): Buffer {
  if (!Number.isInteger(vni) || vni < 0 || vni >= VNI_LIMIT) throw new RangeError(`VNI out of range: ${vni}`);
  if (innerFrame.length < ETH_HLEN) throw new RangeError(`inner frame of ${innerFrame.length} bytes is not Ethernet`);
  const out = Buffer.allocUnsafe(VXLAN_HLEN + innerFrame.length);
  out.writeUInt32BE(VXLAN_FLAG_VNI << 24, 0);
  out.writeUIntBE(vni, 4, 3);
  out[7] = 0;
  innerFrame.copy(out, VXLAN_HLEN);
  return out;
}

/**
 * Strict the way Linux is for a device without extensions (GBP, RCO): exactly
 * the I flag, reserved bits zero, and an inner Ethernet header.
 */
export function parseVxlanDatagram(buf: Buffer): VxlanDatagram | undefined {
  if (buf.length < VXLAN_HLEN + ETH_HLEN) return undefined;
  if (buf.readUInt32BE(0) !== VXLAN_FLAG_VNI << 24 || buf[7] !== 0) return undefined;
  return { vni: buf.readUIntBE(4, 3), inner: buf.subarray(VXLAN_HLEN) };
}

/**
 * Ethernet + IPv4 (no options, DF, id 0) + UDP, both checksums filled in,
 * padded to the Ethernet minimum. RangeError for values the headers cannot carry.
 */
export function buildUdpFrame(o: UdpFrameOptions): Buffer {
  const ttl = o.ttl ?? DEFAULT_TTL;
  if (!isIp(o.srcIp) || !isIp(o.dstIp)) throw new RangeError('source and destination must be IPv4 addresses');
  if (!isU16(o.srcPort) || !isU16(o.dstPort)) throw new RangeError('ports must be 0..65535');
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new RangeError(`TTL out of range: ${ttl}`);
  if (o.payload.length > MAX_UDP_PAYLOAD) throw new RangeError(`UDP payload of ${o.payload.length} bytes does not fit one IPv4 packet`);
  const udpLen = UDP_HLEN + o.payload.length;
  const ipLen = IPV4_HLEN + udpLen;
  const f = allocFrame(ETH_HLEN + ipLen);
  writeEthHeader(f, o.dstMac, o.srcMac, ETH_P_IP);

  const ip = ETH_HLEN;
  f[ip] = 0x45; // version 4, IHL 5
  f.writeUInt16BE(ipLen, ip + 2);
  f.writeUInt16BE(IP_DF, ip + 6);
  f[ip + 8] = ttl;
  f[ip + 9] = IPPROTO_UDP;
  f.writeUInt32BE(o.srcIp, ip + 12);
  f.writeUInt32BE(o.dstIp, ip + 16);
  f.writeUInt16BE(internetChecksum(f, ip, ip + IPV4_HLEN), ip + 10);

  const u = ip + IPV4_HLEN;
  f.writeUInt16BE(o.srcPort, u);
  f.writeUInt16BE(o.dstPort, u + 2);
  f.writeUInt16BE(udpLen, u + 4);
  o.payload.copy(f, u + UDP_HLEN);
  const ck = internetChecksum(f, u, u + udpLen, pseudoHeaderSum(o.srcIp, o.dstIp, IPPROTO_UDP, udpLen));
  // 0 on the wire means "no checksum" in IPv4 UDP, so a computed 0 goes as its other form
  f.writeUInt16BE(ck === 0 ? 0xffff : ck, u + 6);
  return f;
}

/**
 * Ethernet + IPv4 + UDP → addresses, ports and payload, or undefined unless
 * version 4, IHL ≥ 5, a total length that fits the frame, not a fragment,
 * protocol UDP, a correct header checksum, a UDP length within the IP payload,
 * and a correct UDP checksum (or none). Ethernet padding and IP options are skipped.
 */
export function parseUdpFrame(frame: Buffer): UdpDatagram | undefined {
  const ip = ETH_HLEN;
  if (frame.length < ip + IPV4_HLEN + UDP_HLEN || ethType(frame) !== ETH_P_IP) return undefined;
  if (frame[ip]! >> 4 !== 4) return undefined;
  const ihl = (frame[ip]! & 0x0f) * 4;
  const total = frame.readUInt16BE(ip + 2);
  if (ihl < IPV4_HLEN || total < ihl + UDP_HLEN || ip + total > frame.length) return undefined;
  if ((frame.readUInt16BE(ip + 6) & IP_FRAGMENT_BITS) !== 0 || frame[ip + 9] !== IPPROTO_UDP) return undefined;
  if (internetChecksum(frame, ip, ip + ihl) !== 0) return undefined;
  const srcIp = frame.readUInt32BE(ip + 12);
  const dstIp = frame.readUInt32BE(ip + 16);
  const u = ip + ihl;
  const udpLen = frame.readUInt16BE(u + 4);
  if (udpLen < UDP_HLEN || udpLen > total - ihl) return undefined;
  if (frame.readUInt16BE(u + 6) !== 0 && fold(sum16(frame, u, u + udpLen, pseudoHeaderSum(srcIp, dstIp, IPPROTO_UDP, udpLen))) !== 0xffff) {
    return undefined;
  }
  return {
    srcIp, dstIp,
    srcPort: frame.readUInt16BE(u),
    dstPort: frame.readUInt16BE(u + 2),
    payload: frame.subarray(u + UDP_HLEN, u + udpLen),
  };
}
