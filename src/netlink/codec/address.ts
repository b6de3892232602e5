/**
 * ifaddrmsg (RTM_{NEW,DEL,GET}ADDR) builders and parser, IPv4 only.
 * struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }  8 bytes
 */
import type { AddressInfo } from '../types';
import { formatCidr4, parseCidr4 } from './addr';
import { attrMap, decodeAttrs, encodeAttr, need } from './attributes';
import { AF_INET, IFA_ADDRESS, IFA_LOCAL, IFADDRMSG_LEN, RT_SCOPE_UNIVERSE } from './constants';

export interface Ifaddrmsg { family: number; prefixlen: number; flags: number; scope: number; index: number }

export function encodeIfaddrmsg(m: Ifaddrmsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixlen, 1);
  b.writeUInt8(m.flags, 2);
  b.writeUInt8(m.scope, 3);
  b.writeUInt32LE(m.index, 4);
  return b;
}

export function decodeIfaddrmsg(buf: Buffer): Ifaddrmsg {
  need(buf, IFADDRMSG_LEN, 'ifaddrmsg');
  return {
    family: buf.readUInt8(0), prefixlen: buf.readUInt8(1), flags: buf.readUInt8(2),
    scope: buf.readUInt8(3), index: buf.readUInt32LE(4),
  };
}

/**
 * RTM_NEWADDR / RTM_DELADDR payload. IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
 * peer address, equal to IFA_LOCAL on broadcast links (what iproute2 sends).
 */
export function encodeAddress(ifindex: number, cidr: string): Buffer {
  const c = parseCidr4(cidr);
  return Buffer.concat([
    encodeIfaddrmsg({ family: AF_INET, prefixlen: c.prefix, flags: 0, scope: RT_SCOPE_UNIVERSE, index: ifindex }),
    encodeAttr(IFA_LOCAL, c.bytes),
    encodeAttr(IFA_ADDRESS, c.bytes),
  ]);
}

export function encodeAddressDump(): Buffer {
  return encodeIfaddrmsg({ family: AF_INET, prefixlen: 0, flags: 0, scope: 0, index: 0 });
}

/** RTM_NEWADDR payload -> AddressInfo; undefined for non-IPv4 entries */
export function decodeAddress(payload: Buffer): AddressInfo | undefined {
  const hdr = decodeIfaddrmsg(payload);
  const a = attrMap(decodeAttrs(payload, IFADDRMSG_LEN));
  if (hdr.family !== AF_INET) return undefined;
  const ip = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (!ip) return undefined;
  return { ifindex: hdr.index, cidr: formatCidr4(ip, hdr.prefixlen) };
}
