/**
 * Names and addresses of the devices weft makes. Pure. Linux caps interface
 * names at 15 bytes; the prefixes let the reconciler tell weft's devices from
 * everyone else's.
 */
import type { Cidr } from '../addr/cidr';
import { formatMac, isValidUnicastMac, parseMac } from '../netlink/codec/addr';

export const BRIDGE_PREFIX = 'weft-';
export const HOST_VETH_PREFIX = 'wfh';
export const CONTAINER_VETH_PREFIX = 'wfc';
/** the data plane's ports on each bridge: the kernel VXLAN device and the sleeve's TAP */
export const VXLAN_PREFIX = 'wfv';
export const TAP_PREFIX = 'wft';
/** the gateway: a veth pair per network, the address on the host's end, the other end a port of the bridge */
export const GATEWAY_PREFIX = 'wfg';
export const GATEWAY_PORT_PREFIX = 'wfb';
/** one per host: the VXLAN device that fast-path probes from peers arrive on */
export const PROBE_DEVICE = 'wfprobe';

export function bridgeName(networkId: string): string {
  return BRIDGE_PREFIX + networkId.slice(0, 10);
}

export function hostVethName(endpointId: string): string {
  return HOST_VETH_PREFIX + endpointId.slice(0, 12);
}

export function containerVethName(endpointId: string): string {
  return CONTAINER_VETH_PREFIX + endpointId.slice(0, 12);
}

export function vxlanName(networkId: string): string {
  return VXLAN_PREFIX + networkId.slice(0, 12);
}

export function tapName(networkId: string): string {
  return TAP_PREFIX + networkId.slice(0, 12);
}

export function gatewayName(networkId: string): string {
  return GATEWAY_PREFIX + networkId.slice(0, 12);
}

export function gatewayPortName(networkId: string): string {
  return GATEWAY_PORT_PREFIX + networkId.slice(0, 12);
}

const PREFIXES = [BRIDGE_PREFIX, HOST_VETH_PREFIX, CONTAINER_VETH_PREFIX, VXLAN_PREFIX, TAP_PREFIX, GATEWAY_PREFIX, GATEWAY_PORT_PREFIX];

export function isWeftDevice(name: string): boolean {
  return PREFIXES.some((p) => name.startsWith(p)) || name === PROBE_DEVICE;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/**
 * The gateway's MAC, the same on every host for a subnet: the gateway is then one
 * "anycast" address cluster-wide, and a container that moves keeps a valid ARP
 * entry for it. 0x7a: locally administered, unicast.
 */
export function gatewayMac(subnet: Cidr): string {
  return subnetMac(0x7a, subnet);
}

/**
 * The bridge's own MAC: fixed, so it does not follow its ports', and never the gateway's (a bridge
 * holding that address would take the gateway's frames for itself). 0x7e: locally administered, unicast.
 */
export function bridgeMac(subnet: Cidr): string {
  return subnetMac(0x7e, subnet);
}

function subnetMac(first: number, subnet: Cidr): string {
  const b = subnet.base;
  return [hex2(first), hex2(subnet.prefix), hex2((b >>> 24) & 255), hex2((b >>> 16) & 255), hex2((b >>> 8) & 255), hex2(b & 255)].join(':');
}

/** A MAC for an endpoint Docker gave none: 02:42 (Docker's own prefix) + the IPv4 address, as Docker's bridge does. */
export function macForIp(ip: number): string {
  return ['02', '42', hex2((ip >>> 24) & 255), hex2((ip >>> 16) & 255), hex2((ip >>> 8) & 255), hex2(ip & 255)].join(':');
}

/** Lower-case colon form, or undefined when the text is no unicast MAC (dashes accepted, as Docker does). */
export function normalizeMac(text: string): string | undefined {
  try {
    const bytes = parseMac(text.trim().replace(/-/g, ':'));
    return isValidUnicastMac(bytes) ? formatMac(bytes) : undefined;
  } catch {
    return undefined;
  }
}
