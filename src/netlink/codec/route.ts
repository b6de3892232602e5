/**
 * rtmsg (RTM_{NEW,DEL,GET}ROUTE) builders and parser, IPv4 main table: unicast and unreachable routes.
 * struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }  12 bytes
 */
import type { RouteInfo } from '../types';
import { formatCidr4, formatIpv4, networkOf, parseCidr4, parseIpv4 } from './addr';
import { attrMap, decodeAttrs, encodeAttr, need, readU32, u32 } from './attributes';
import {
  AF_INET, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE,
  RTMSG_LEN, RTN_UNICAST, RTN_UNREACHABLE, RTN_UNSPEC, RTPROT_BOOT, RTPROT_UNSPEC,
} from './constants';
import { EncodeError } from './errors';

export interface Rtmsg {
  family: number; dstLen: number; srcLen: number; tos: number;
  table: number; protocol: number; scope: number; type: number; flags: number;
}

export function encodeRtmsg(m: Rtmsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  [m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type].forEach((v, i) => b.writeUInt8(v, i));
  b.writeUInt32LE(m.flags >>> 0, 8);
  return b;
}

export function decodeRtmsg(buf: Buffer): Rtmsg {
  need(buf, RTMSG_LEN, 'rtmsg');
  return {
    family: buf.readUInt8(0), dstLen: buf.readUInt8(1), srcLen: buf.readUInt8(2), tos: buf.readUInt8(3),
    table: buf.readUInt8(4), protocol: buf.readUInt8(5), scope: buf.readUInt8(6), type: buf.readUInt8(7),
    flags: buf.readUInt32LE(8),
  };
}

export type RouteType = 'unicast' | 'unreachable';
export interface RouteRequest { dst: string; gateway?: string; oif?: number; protocol?: number; type?: RouteType; priority?: number }

/** "10.1.0.0/16" -> bytes + prefix; host bits set is an error (the kernel refuses it too) */
export function parseRouteDst(dst: string): { bytes: Buffer; prefix: number } {
  const c = parseCidr4(dst);
  if (!networkOf(c.bytes, c.prefix).equals(c.bytes)) throw new EncodeError(`route destination ${dst} has host bits set`);
  return { bytes: c.bytes, prefix: c.prefix };
}

const RTN: Record<RouteType, number> = { unicast: RTN_UNICAST, unreachable: RTN_UNREACHABLE };

/** what the kernel refuses with EINVAL: a protocol that is no u8, an unreachable route with a nexthop */
function checkRoute(r: RouteRequest): void {
  if (r.type !== undefined && !Object.hasOwn(RTN, r.type)) throw new EncodeError(`unknown route type ${String(r.type)}`);
  if (r.protocol !== undefined && (!Number.isInteger(r.protocol) || r.protocol < 0 || r.protocol > 0xff)) {
    throw new EncodeError(`invalid route protocol ${r.protocol} (a u8)`);
  }
  if (r.priority !== undefined && (!Number.isInteger(r.priority) || r.priority < 0 || r.priority > 0xffffffff)) {
    throw new EncodeError(`invalid route metric ${r.priority} (a u32)`);
  }
  if (r.type === 'unreachable' && (r.gateway !== undefined || r.oif !== undefined)) {
    throw new EncodeError(`an unreachable route takes no gateway or device: ${r.dst}`);
  }
}

/** rtm_scope of a new route, as iproute2 picks it: on-link (dev, no gateway) is scope link, the rest universe */
function addScope(r: RouteRequest): number {
  return r.type !== 'unreachable' && r.gateway === undefined && r.oif !== undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
}

/**
 * RTM_NEWROUTE (op 'add', for add and replace alike: the nlmsghdr flags tell them apart) or RTM_DELROUTE
 * (op 'del') payload. Like iproute2, a delete leaves protocol (and type, unless given) unspecified and
 * scope NOWHERE so the kernel matches any route with that dst/nexthop. A new route's protocol defaults
 * to boot, iproute2's.
 */
export function encodeRoute(op: 'add' | 'del', r: RouteRequest): Buffer {
  const dst = parseRouteDst(r.dst);
  checkRoute(r);
  const add = op === 'add';
  const head = encodeRtmsg({
    family: AF_INET, dstLen: dst.prefix, srcLen: 0, tos: 0, table: RT_TABLE_MAIN,
    protocol: add ? (r.protocol ?? RTPROT_BOOT) : RTPROT_UNSPEC,
    scope: add ? addScope(r) : RT_SCOPE_NOWHERE,
    type: r.type !== undefined ? RTN[r.type] : add ? RTN_UNICAST : RTN_UNSPEC,
    flags: 0,
  });
  const attrs = [encodeAttr(RTA_TABLE, u32(RT_TABLE_MAIN))];
  if (dst.prefix > 0) attrs.push(encodeAttr(RTA_DST, dst.bytes));
  if (r.gateway !== undefined) attrs.push(encodeAttr(RTA_GATEWAY, parseIpv4(r.gateway)));
  if (r.oif !== undefined) attrs.push(encodeAttr(RTA_OIF, u32(r.oif)));
  if (r.priority) attrs.push(encodeAttr(RTA_PRIORITY, u32(r.priority)));
  return Buffer.concat([head, ...attrs]);
}

export function encodeRouteDump(): Buffer {
  return encodeRtmsg({ family: AF_INET, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
}

/** rtm_type as RouteInfo has it: the kinds weft makes, the rest 'other' */
export function routeType(type: number): RouteInfo['type'] {
  return type === RTN_UNICAST ? 'unicast' : type === RTN_UNREACHABLE ? 'unreachable' : 'other';
}

/** the rtmsg fields as they came: type is the raw rtm_type (see routeType) */
export interface DecodedRoute extends Omit<RouteInfo, 'type'> { type: number; scope: number }

/** RTM_NEWROUTE payload; undefined for non-IPv4. RTA_TABLE (u32) wins over the u8 rtm_table. */
export function decodeRoute(payload: Buffer): DecodedRoute | undefined {
  const hdr = decodeRtmsg(payload);
  const a = attrMap(decodeAttrs(payload, RTMSG_LEN));
  if (hdr.family !== AF_INET) return undefined;
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  const oif = a.get(RTA_OIF);
  const priority = a.get(RTA_PRIORITY);
  const table = a.get(RTA_TABLE);
  const out: DecodedRoute = {
    dst: formatCidr4(dst ?? Buffer.alloc(4), hdr.dstLen),
    table: table ? readU32(table, 'RTA_TABLE') : hdr.table,
    type: hdr.type, protocol: hdr.protocol, scope: hdr.scope,
  };
  if (gw) out.gateway = formatIpv4(gw);
  if (oif) out.ifindex = readU32(oif, 'RTA_OIF');
  if (priority) out.priority = readU32(priority, 'RTA_PRIORITY');
  return out;
}
