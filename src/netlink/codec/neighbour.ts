/**
 * ndmsg (RTM_{NEW,DEL,GET}NEIGH) builders and parser: IPv4 ARP entries and bridge/vxlan FDB entries.
 * struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type; }  12 bytes
 */
import { formatIpv4, formatMac, parseIpv4, parseMac } from './addr';
import { attrMap, decodeAttrs, encodeAttr, need, readU32 } from './attributes';
import {
  AF_BRIDGE, AF_INET, NDA_DST, NDA_LLADDR, NDA_MASTER, NDMSG_LEN, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT,
} from './constants';

export interface Ndmsg { family: number; ifindex: number; state: number; flags: number; type: number }

export function encodeNdmsg(m: Ndmsg): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeInt32LE(m.ifindex, 4);
  b.writeUInt16LE(m.state, 8);
  b.writeUInt8(m.flags, 10);
  b.writeUInt8(m.type, 11);
  return b;
}

export function decodeNdmsg(buf: Buffer): Ndmsg {
  need(buf, NDMSG_LEN, 'ndmsg');
  return {
    family: buf.readUInt8(0), ifindex: buf.readInt32LE(4), state: buf.readUInt16LE(8),
    flags: buf.readUInt8(10), type: buf.readUInt8(11),
  };
}

/** RTM_NEWNEIGH (with mac; send NLM_F_CREATE|NLM_F_REPLACE) or RTM_DELNEIGH (mac omitted): permanent ARP entry */
export function encodeNeighbour(ifindex: number, ip: string, mac?: string): Buffer {
  const parts = [
    encodeNdmsg({ family: AF_INET, ifindex, state: NUD_PERMANENT, flags: 0, type: 0 }),
    encodeAttr(NDA_DST, parseIpv4(ip)),
  ];
  if (mac !== undefined) parts.push(encodeAttr(NDA_LLADDR, parseMac(mac)));
  return Buffer.concat(parts);
}

/** RTM_NEWNEIGH / RTM_DELNEIGH for the device's own FDB (NTF_SELF): mac reachable via underlay dst */
export function encodeFdb(ifindex: number, mac: string, dst: string): Buffer {
  return Buffer.concat([
    encodeNdmsg({ family: AF_BRIDGE, ifindex, state: NUD_PERMANENT, flags: NTF_SELF, type: 0 }),
    encodeAttr(NDA_LLADDR, parseMac(mac)),
    encodeAttr(NDA_DST, parseIpv4(dst)),
  ]);
}

/**
 * RTM_NEWNEIGH / RTM_DELNEIGH for the bridge's FDB (NTF_MASTER), addressed by the port: a static entry
 * (NUD_NOARP, `bridge fdb … master static`): it never ages out (learning on the port could still move it).
 */
export function encodeBridgeFdb(port: number, mac: string): Buffer {
  return Buffer.concat([
    encodeNdmsg({ family: AF_BRIDGE, ifindex: port, state: NUD_NOARP, flags: NTF_MASTER, type: 0 }),
    encodeAttr(NDA_LLADDR, parseMac(mac)),
  ]);
}

export function encodeNeighDump(family: typeof AF_INET | typeof AF_BRIDGE): Buffer {
  return encodeNdmsg({ family, ifindex: 0, state: 0, flags: 0, type: 0 });
}

export interface DecodedNeighbour extends Ndmsg {
  /** NDA_DST when it is an IPv4 address (IPv6 destinations are left out) */
  dst?: string;
  lladdr?: string;
  master?: number;
}

export function decodeNeighbour(payload: Buffer): DecodedNeighbour {
  const hdr = decodeNdmsg(payload);
  const a = attrMap(decodeAttrs(payload, NDMSG_LEN));
  const out: DecodedNeighbour = { ...hdr };
  const dst = a.get(NDA_DST);
  if (dst && dst.length === 4) out.dst = formatIpv4(dst);
  const ll = a.get(NDA_LLADDR);
  if (ll) out.lladdr = formatMac(ll);
  const master = a.get(NDA_MASTER);
  if (master) out.master = readU32(master, 'NDA_MASTER');
  return out;
}
