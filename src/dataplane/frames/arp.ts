/**
 * ARP for IPv4 over Ethernet (RFC 826), the only kind a Docker bridge carries:
 * the sleeve answers requests for addresses it knows and announces moves with
 * gratuitous ARP. Anything else (other hardware or protocol types, RARP,
 * truncated) parses as undefined and is simply forwarded.
 */
import { isIp, type Ip } from '../../addr/cidr';
import { allocFrame, ETH_HLEN, ETH_P_ARP, ETH_P_IP, ethType, writeEthHeader } from './ethernet';
import { BROADCAST_KEY, macKey, writeMacKey, ZERO_MAC_KEY, type MacKey } from './mac';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const ARPHRD_ETHER = 1;
/** the ARP body for Ethernet/IPv4 */
export const ARP_BODY_BYTES = 28;
/** Ethernet header + ARP body, before padding */
export const ARP_FRAME_BYTES = ETH_HLEN + ARP_BODY_BYTES;

// offsets inside the frame
const HTYPE = ETH_HLEN;
const PTYPE = ETH_HLEN + 2;
const HLEN = ETH_HLEN + 4;
const PLEN = ETH_HLEN + 5;
const OP = ETH_HLEN + 6;
const SHA = ETH_HLEN + 8;
const SPA = ETH_HLEN + 14;
const THA = ETH_HLEN + 18;
const TPA = ETH_HLEN + 24;

interface ArpFields {
  senderMac: MacKey;
  senderIp: Ip;
  targetMac: MacKey;
  targetIp: Ip;
}

export interface ArpRequest extends ArpFields { op: 1 }
export interface ArpResponse extends ArpFields { op: 2 }
/** a union on `op`, so `a.op === 1` narrows to what arpReply accepts */
export type ArpPacket = ArpRequest | ArpResponse;

/** Ethernet + ARP → fields, or undefined unless it is well-formed IPv4-over-Ethernet ARP (trailing padding is fine). */
export function parseArp(frame: Buffer): ArpPacket | undefined {
  if (frame.length < ARP_FRAME_BYTES || ethType(frame) !== ETH_P_ARP) return undefined;
  if (frame.readUInt16BE(HTYPE) !== ARPHRD_ETHER || frame.readUInt16BE(PTYPE) !== ETH_P_IP) return undefined;
  if (frame[HLEN] !== 6 || frame[PLEN] !== 4) return undefined;
  const op = frame.readUInt16BE(OP);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return undefined;
  return {
    op,
    senderMac: macKey(frame, SHA),
    senderIp: frame.readUInt32BE(SPA),
    targetMac: macKey(frame, THA),
    targetIp: frame.readUInt32BE(TPA),
  };
}

/**
 * The answer to `request` on behalf of `answerMac`, unicast back to the
 * requester. An RFC 5227 probe (sender IP 0.0.0.0) is answered the same way:
 * that tells the prober the address is taken, which is the point.
 */
export function arpReply(request: ArpRequest, answerMac: MacKey): Buffer {
  return build(request.senderMac, answerMac, ARP_REPLY, answerMac, request.targetIp, request.senderMac, request.senderIp);
}

/** "ip is at mac", broadcast as a request (sender IP = target IP), the form every stack updates its cache from. */
export function gratuitousArp(mac: MacKey, ip: Ip): Buffer {
  return build(BROADCAST_KEY, mac, ARP_REQUEST, mac, ip, ZERO_MAC_KEY, ip);
}

function build(dst: MacKey, src: MacKey, op: number, sha: MacKey, spa: Ip, tha: MacKey, tpa: Ip): Buffer {
  // Buffer.writeUInt32BE would truncate a fractional address silently
  if (!isIp(spa) || !isIp(tpa)) throw new RangeError(`not an IPv4 address: ${String(isIp(spa) ? tpa : spa)}`);
  const f = allocFrame(ARP_FRAME_BYTES);
  writeEthHeader(f, dst, src, ETH_P_ARP);
  f.writeUInt16BE(ARPHRD_ETHER, HTYPE);
  f.writeUInt16BE(ETH_P_IP, PTYPE);
  f[HLEN] = 6;
  f[PLEN] = 4;
  f.writeUInt16BE(op, OP);
  writeMacKey(f, SHA, sha);
  f.writeUInt32BE(spa, SPA);
  writeMacKey(f, THA, tha);
  f.writeUInt32BE(tpa, TPA);
  return f;
}
