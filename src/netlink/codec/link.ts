/**
 * ifinfomsg (RTM_{NEW,DEL,GET,SET}LINK) builders and parser.
 * struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; }  16 bytes
 */
import type { BridgePortFlags, LinkInfo, LinkKind } from '../types';
import { parseIpv4, parseMac, formatIpv4, formatMac } from './addr';
import {
  type AttrMap, attrMap, be16, cstr, decodeAttrs, encodeAttr, encodeNested, need, readBe16, readString, readU32, readU8, u32, u8,
} from './attributes';
import {
  AF_BRIDGE, AF_UNSPEC, IFF_UP, IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING, IFLA_GSO_MAX_SIZE,
  IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND, IFLA_LINKINFO, IFLA_MASTER,
  IFLA_MTU, IFLA_NET_NS_FD, IFLA_PROTINFO, IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_PORT,
  IFLA_VXLAN_PROXY, NLA_F_NESTED, VETH_INFO_PEER,
} from './constants';
import { DecodeError, EncodeError } from './errors';

export interface Ifinfomsg { family: number; type: number; index: number; flags: number; change: number }

export function encodeIfinfomsg(m: Partial<Ifinfomsg> = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

export function decodeIfinfomsg(buf: Buffer): Ifinfomsg {
  need(buf, IFINFOMSG_LEN, 'ifinfomsg');
  return {
    family: buf.readUInt8(0), type: buf.readUInt16LE(2), index: buf.readInt32LE(4),
    flags: buf.readUInt32LE(8), change: buf.readUInt32LE(12),
  };
}

/** IFNAMSIZ is 16 including the NUL */
export const IFNAME_MAX = 15;

function ifname(name: string): Buffer {
  if (name.length === 0) throw new EncodeError('empty interface name');
  const s = cstr(name);
  if (s.length - 1 > IFNAME_MAX) throw new EncodeError(`interface name too long (max ${IFNAME_MAX}): ${name}`);
  return encodeAttr(IFLA_IFNAME, s);
}

export type LinkKindSpec =
  | { kind: 'bridge' }
  | { kind: 'veth'; peer: { name: string; mtu?: number; mac?: string; netnsFd?: number } }
  | { kind: 'vxlan'; vni: number; port: number; local?: string; link?: number; learning: boolean; proxy?: boolean };

/**
 * master (an ifindex) and up apply to the new link itself, never to a veth's peer. netnsFd: the link is
 * made in that namespace (a veth's peer has its own), while the request's namespace still resolves its
 * other ifindexes and keeps a VXLAN device's UDP socket.
 */
export interface NewLinkRequest {
  name: string; mtu?: number; mac?: string; master?: number; up?: boolean; netnsFd?: number; info: LinkKindSpec;
}

/**
 * The kernel's dev_valid_name() (EINVAL otherwise), plus no '%': the kernel would treat "x%d" as a
 * template and pick a different name than the one asked for.
 */
function checkNewName(name: string): void {
  if (name === '.' || name === '..' || /[/:%\s]/.test(name)) throw new EncodeError(`invalid interface name ${JSON.stringify(name)}`);
}

/** IFLA_* common to a link and to a veth peer */
function commonAttrs(s: { name: string; mtu?: number; mac?: string; netnsFd?: number }): Buffer[] {
  checkNewName(s.name);
  const out = [ifname(s.name)];
  if (s.mtu !== undefined) out.push(encodeAttr(IFLA_MTU, u32(s.mtu)));
  if (s.mac !== undefined) out.push(encodeAttr(IFLA_ADDRESS, parseMac(s.mac)));
  if (s.netnsFd !== undefined) out.push(netnsAttr(s.netnsFd));
  return out;
}

function netnsAttr(fd: number): Buffer {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new EncodeError(`invalid namespace descriptor ${fd}`);
  return encodeAttr(IFLA_NET_NS_FD, u32(fd));
}

function infoData(info: LinkKindSpec): Buffer[] {
  switch (info.kind) {
    case 'bridge':
      return [];
    case 'veth':
      // the peer is not a plain nest: it is a whole ifinfomsg followed by its IFLA_* attributes
      return [encodeAttr(VETH_INFO_PEER, Buffer.concat([encodeIfinfomsg(), ...commonAttrs(info.peer)]))];
    case 'vxlan': {
      if (!Number.isInteger(info.vni) || info.vni < 0) throw new EncodeError(`invalid VNI ${info.vni}`);
      if (!Number.isInteger(info.port) || info.port < 1 || info.port > 0xffff) throw new EncodeError(`invalid UDP port ${info.port}`);
      const out = [encodeAttr(IFLA_VXLAN_ID, u32(info.vni))];
      if (info.local !== undefined) out.push(encodeAttr(IFLA_VXLAN_LOCAL, parseIpv4(info.local)));
      if (info.link !== undefined) out.push(encodeAttr(IFLA_VXLAN_LINK, u32(info.link)));
      out.push(encodeAttr(IFLA_VXLAN_LEARNING, u8(info.learning ? 1 : 0)));
      if (info.proxy !== undefined) out.push(encodeAttr(IFLA_VXLAN_PROXY, u8(info.proxy ? 1 : 0)));
      out.push(encodeAttr(IFLA_VXLAN_PORT, be16(info.port)));
      return out;
    }
  }
}

/** RTM_NEWLINK payload creating a link (send with NLM_F_CREATE|NLM_F_EXCL) */
export function encodeNewLink(req: NewLinkRequest): Buffer {
  const data = infoData(req.info);
  const linkinfo = [encodeAttr(IFLA_INFO_KIND, cstr(req.info.kind))];
  if (data.length > 0) linkinfo.push(encodeNested(IFLA_INFO_DATA, data));
  // made up and on its bridge in the same message: one round trip instead of three (create, look up, set)
  const head = req.up ? encodeIfinfomsg({ flags: IFF_UP, change: IFF_UP }) : encodeIfinfomsg();
  const master = req.master === undefined ? [] : [encodeAttr(IFLA_MASTER, u32(req.master))];
  return Buffer.concat([head, ...commonAttrs(req), ...master, encodeNested(IFLA_LINKINFO, linkinfo)]);
}

/** netnsFd: moves the link to that namespace (the kernel does that first; weft sends it alone) */
export interface SetLinkRequest {
  index: number; up?: boolean; mtu?: number; mac?: string; master?: number; gsoMaxSize?: number; netnsFd?: number;
}

/** RTM_SETLINK payload; only the fields given change (ifi_change limits which flags apply) */
export function encodeSetLink(req: SetLinkRequest): Buffer {
  const head = req.up === undefined
    ? encodeIfinfomsg({ index: req.index })
    : encodeIfinfomsg({ index: req.index, flags: req.up ? IFF_UP : 0, change: IFF_UP });
  const attrs: Buffer[] = [];
  if (req.mtu !== undefined) attrs.push(encodeAttr(IFLA_MTU, u32(req.mtu)));
  if (req.mac !== undefined) attrs.push(encodeAttr(IFLA_ADDRESS, parseMac(req.mac)));
  if (req.master !== undefined) attrs.push(encodeAttr(IFLA_MASTER, u32(req.master))); // 0 = release
  if (req.gsoMaxSize !== undefined) attrs.push(encodeAttr(IFLA_GSO_MAX_SIZE, u32(req.gsoMaxSize)));
  if (req.netnsFd !== undefined) attrs.push(netnsAttr(req.netnsFd));
  return Buffer.concat([head, ...attrs]);
}

/**
 * RTM_SETLINK with family AF_BRIDGE (what `bridge link set` sends): the bridge the port is enslaved to
 * applies the IFLA_BRPORT_* flags. Only the flags given change.
 */
export function encodeBridgePort(index: number, p: Partial<BridgePortFlags>): Buffer {
  const flags: Buffer[] = [];
  if (p.learning !== undefined) flags.push(encodeAttr(IFLA_BRPORT_LEARNING, u8(p.learning ? 1 : 0)));
  if (p.isolated !== undefined) flags.push(encodeAttr(IFLA_BRPORT_ISOLATED, u8(p.isolated ? 1 : 0)));
  // NLA_F_NESTED is required here: without it br_setlink reads IFLA_PROTINFO as a bare u8 port state
  const protinfo = encodeAttr(IFLA_PROTINFO | NLA_F_NESTED, Buffer.concat(flags));
  return Buffer.concat([encodeIfinfomsg({ family: AF_BRIDGE, index }), protinfo]);
}

/** RTM_GETLINK / RTM_DELLINK payload addressing a link by name */
export function encodeLinkByName(name: string): Buffer {
  return Buffer.concat([encodeIfinfomsg(), ifname(name)]);
}

/** RTM_GETLINK dump request */
export function encodeLinkDump(): Buffer {
  return encodeIfinfomsg();
}

const KINDS: ReadonlySet<string> = new Set(['bridge', 'veth', 'vxlan', 'tun', 'dummy']);

function decodeVxlan(data: Buffer): NonNullable<LinkInfo['vxlan']> {
  const a = attrMap(decodeAttrs(data));
  const id = a.get(IFLA_VXLAN_ID);
  if (!id) throw new DecodeError('vxlan link without IFLA_VXLAN_ID');
  const port = a.get(IFLA_VXLAN_PORT);
  const local = a.get(IFLA_VXLAN_LOCAL);
  const link = a.get(IFLA_VXLAN_LINK);
  const out: NonNullable<LinkInfo['vxlan']> = {
    vni: readU32(id, 'IFLA_VXLAN_ID'),
    port: port ? readBe16(port, 'IFLA_VXLAN_PORT') : 0,
    learning: flag(a, IFLA_VXLAN_LEARNING, 'IFLA_VXLAN_LEARNING'),
    proxy: flag(a, IFLA_VXLAN_PROXY, 'IFLA_VXLAN_PROXY'),
  };
  if (local) out.local = formatIpv4(local);
  if (link) {
    const dev = readU32(link, 'IFLA_VXLAN_LINK');
    if (dev !== 0) out.dev = dev;
  }
  return out;
}

/** a u8 boolean attribute; absent is false */
function flag(a: AttrMap, type: number, what: string): boolean {
  const v = a.get(type);
  return v ? readU8(v, what) !== 0 : false;
}

/** IFLA_INFO_SLAVE_DATA of a bridge port: the flags weft sets */
function decodeBridgePort(data: Buffer): BridgePortFlags {
  const a = attrMap(decodeAttrs(data));
  return {
    learning: flag(a, IFLA_BRPORT_LEARNING, 'IFLA_BRPORT_LEARNING'),
    isolated: flag(a, IFLA_BRPORT_ISOLATED, 'IFLA_BRPORT_ISOLATED'),
  };
}

/** Parses an RTM_NEWLINK payload (a dump entry or a GETLINK reply). */
export function decodeLink(payload: Buffer): LinkInfo {
  const hdr = decodeIfinfomsg(payload);
  const a = attrMap(decodeAttrs(payload, IFINFOMSG_LEN));
  const name = a.get(IFLA_IFNAME);
  if (!name) throw new DecodeError(`link ${hdr.index} without IFLA_IFNAME`);
  const mtu = a.get(IFLA_MTU);
  const addr = a.get(IFLA_ADDRESS);
  const master = a.get(IFLA_MASTER);
  const gso = a.get(IFLA_GSO_MAX_SIZE);
  const info: LinkInfo = {
    index: hdr.index,
    name: readString(name),
    kind: 'other',
    mtu: mtu ? readU32(mtu, 'IFLA_MTU') : 0,
    mac: addr ? formatMac(addr) : '',
    up: (hdr.flags & IFF_UP) !== 0,
  };
  if (gso) info.gsoMaxSize = readU32(gso, 'IFLA_GSO_MAX_SIZE');
  if (master) {
    const m = readU32(master, 'IFLA_MASTER');
    if (m !== 0) info.masterIndex = m;
  }
  const linkinfo = a.get(IFLA_LINKINFO);
  if (linkinfo) {
    const li = attrMap(decodeAttrs(linkinfo));
    const kindAttr = li.get(IFLA_INFO_KIND);
    const kind = kindAttr ? readString(kindAttr) : '';
    info.kind = KINDS.has(kind) ? (kind as LinkKind) : 'other';
    const data = li.get(IFLA_INFO_DATA);
    if (info.kind === 'vxlan' && data) info.vxlan = decodeVxlan(data);
    const slaveKind = li.get(IFLA_INFO_SLAVE_KIND);
    const slaveData = li.get(IFLA_INFO_SLAVE_DATA);
    if (slaveKind && readString(slaveKind) === 'bridge' && slaveData) info.bridgePort = decodeBridgePort(slaveData);
  }
  return info;
}
