/**
 * The underlay: the link weft's traffic between hosts leaves by. From it come
 * the MTU weft gives its bridges and veths when --mtu is not set (the underlay's
 * MTU less the VXLAN overhead, so encapsulated frames never exceed the underlay
 * and large transfers do not black-hole) and the address peers reach us at. Pure.
 */
import type { AddressInfo, LinkInfo, RouteInfo } from '../netlink/types';
import { isWeftDevice } from './names';

/** outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) */
export const VXLAN_OVERHEAD = 50;
const MIN_MTU = 576;

/** the underlay device: the default route's, else the first up link that is not loopback, Docker's or weft's */
export function underlayLink(links: readonly LinkInfo[], routes: readonly RouteInfo[]): LinkInfo | undefined {
  const def = routes.find((r) => r.dst === '0.0.0.0/0' && r.ifindex !== undefined);
  const viaDefault = def && links.find((l) => l.index === def.ifindex);
  if (viaDefault) return viaDefault;
  return links.find(
    (l) => l.up && l.name !== 'lo' && !isWeftDevice(l.name) && !/^(docker|veth|br-)/.test(l.name) && l.masterIndex === undefined,
  );
}

/** the underlay device's MTU (1500 when there is none to ask) */
export function underlayMtu(links: readonly LinkInfo[], routes: readonly RouteInfo[]): number {
  return underlayLink(links, routes)?.mtu ?? 1500;
}

export function deriveMtu(links: readonly LinkInfo[], routes: readonly RouteInfo[]): number {
  return Math.max(MIN_MTU, underlayMtu(links, routes) - VXLAN_OVERHEAD);
}

/** outer IPv4 (20) + UDP (8) */
export const UDP_OVERHEAD = 28;

/** the mesh's GSO segment: the largest datagram that crosses the underlay unfragmented */
export function meshSegment(links: readonly LinkInfo[], routes: readonly RouteInfo[]): number {
  return Math.max(MIN_MTU, underlayMtu(links, routes)) - UDP_OVERHEAD;
}

/** the underlay's first IPv4 address, e.g. "192.168.91.1" */
export function underlayAddress(links: readonly LinkInfo[], routes: readonly RouteInfo[], addrs: readonly AddressInfo[]): string | undefined {
  const u = underlayLink(links, routes);
  const a = u && addrs.find((x) => x.ifindex === u.index);
  return a?.cidr.split('/')[0];
}
