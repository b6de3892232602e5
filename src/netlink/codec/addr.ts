/**
 * MAC and IPv4 string <-> bytes helpers. Strict: anything ambiguous is rejected
 * with EncodeError. IPv4 text is parsed by the one parser every layer uses
 * (src/addr/cidr.ts); this file only turns it into the bytes netlink carries.
 */
import { maskOf, parseIp, parseOr } from '../../addr/cidr';
import { DecodeError, EncodeError } from './errors';

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const PREFIX_RE = /^(3[0-2]|[12]?\d)$/;

export function parseMac(mac: string): Buffer {
  if (!MAC_RE.test(mac)) throw new EncodeError(`invalid MAC address ${JSON.stringify(mac)}`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** lower-case colon form; any length (an empty hardware address gives "") */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function normalizeMac(mac: string): string {
  return formatMac(parseMac(mac));
}

export function isValidUnicastMac(mac: Uint8Array): boolean {
  return mac.length === 6 && (mac[0]! & 1) === 0 && mac.some((b) => b !== 0);
}

export function parseIpv4(ip: string): Buffer {
  return intToIpv4(parseOr(() => parseIp(ip), () => new EncodeError(`invalid IPv4 address ${JSON.stringify(ip)}`)));
}

export function formatIpv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new DecodeError(`IPv4 address must be 4 bytes, got ${bytes.length}`);
  return Array.from(bytes).join('.');
}

export interface Cidr4 { ip: string; bytes: Buffer; prefix: number }

/** "10.32.0.1/12" -> address and prefix (host bits are kept: it names an interface address) */
export function parseCidr4(cidr: string): Cidr4 {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new EncodeError(`invalid CIDR ${JSON.stringify(cidr)}: missing /prefix`);
  const prefixText = cidr.slice(slash + 1);
  if (!PREFIX_RE.test(prefixText)) throw new EncodeError(`invalid CIDR ${JSON.stringify(cidr)}: bad prefix`);
  const bytes = parseIpv4(cidr.slice(0, slash));
  return { ip: formatIpv4(bytes), bytes, prefix: Number(prefixText) };
}

export function formatCidr4(bytes: Uint8Array, prefix: number): string {
  return `${formatIpv4(bytes)}/${prefix}`;
}

export function ipv4ToInt(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

export function intToIpv4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export const prefixMask = maskOf;

/** the network address of ip/prefix */
export function networkOf(bytes: Uint8Array, prefix: number): Buffer {
  return intToIpv4((ipv4ToInt(bytes) & prefixMask(prefix)) >>> 0);
}

export function inSubnet(ip: Uint8Array, net: Uint8Array, prefix: number): boolean {
  const m = prefixMask(prefix);
  return ((ipv4ToInt(ip) & m) >>> 0) === ((ipv4ToInt(net) & m) >>> 0);
}
