/**
 * IPv4 CIDR arithmetic. Pure: addresses are unsigned 32-bit integers held in
 * JS numbers (exact up to 2^53), so sizes up to /0 (2^32) stay exact.
 * Parsing leans on ip-address for the dotted-quad grammar (no leading zeroes,
 * octets ≤ 255) and adds the strictness pools need.
 */
import { Address4 } from 'ip-address';

export type Ip = number;

export interface Cidr {
  /** network address (host bits zero) */
  readonly base: Ip;
  readonly prefix: number;
}

export class CidrError extends Error {
  override readonly name = 'CidrError';
}

const TWO32 = 2 ** 32;

export function parseIp(text: string): Ip {
  if (typeof text !== 'string' || text.includes('/') || !Address4.isValid(text)) {
    throw new CidrError(`invalid IPv4 address ${JSON.stringify(text)}`);
  }
  return Number(new Address4(text).bigInt());
}

export function formatIp(ip: Ip): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function parsePrefix(text: string, whole: string): number {
  if (!/^\d{1,2}$/.test(text) || Number(text) > 32) throw new CidrError(`invalid prefix length in ${JSON.stringify(whole)}`);
  return Number(text);
}

/** "10.32.0.0/12" → Cidr. Host bits must be zero: a pool written "10.32.0.5/12" is a typo, not a pool. */
export function parseCidr(text: string): Cidr {
  const { ip, prefix } = parseAddressWithPrefix(text);
  const base = (ip & maskOf(prefix)) >>> 0;
  if (base !== ip) {
    throw new CidrError(`${text} has host bits set; did you mean ${formatIp(base)}/${prefix}?`);
  }
  return { base, prefix };
}

/** "10.32.0.77/12" → the address and the prefix, host bits allowed (interface addresses). */
export function parseAddressWithPrefix(text: string): { ip: Ip; prefix: number } {
  if (typeof text !== 'string') throw new CidrError(`invalid CIDR ${JSON.stringify(text)}`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new CidrError(`invalid CIDR ${JSON.stringify(text)}: missing /prefix`);
  const ip = parseIp(text.slice(0, slash));
  const prefix = parsePrefix(text.slice(slash + 1), text);
  return { ip, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function cidrOf(ip: Ip, prefix: number): Cidr {
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function first(c: Cidr): Ip {
  return c.base;
}

export function last(c: Cidr): Ip {
  return c.base + size(c) - 1;
}

export function contains(c: Cidr, ip: Ip): boolean {
  return ip >= c.base && ip <= last(c);
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.base);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= last(b) && b.base <= last(a);
}

export function equal(a: Cidr, b: Cidr): boolean {
  return a.base === b.base && a.prefix === b.prefix;
}

/**
 * The addresses a host may use: all but the network and broadcast addresses,
 * except /31 (RFC 3021 point-to-point: both) and /32 (the one address).
 */
export function usable(c: Cidr): { lo: Ip; hi: Ip } {
  if (c.prefix >= 31) return { lo: first(c), hi: last(c) };
  return { lo: first(c) + 1, hi: last(c) - 1 };
}

export function isUsable(c: Cidr, ip: Ip): boolean {
  const u = usable(c);
  return ip >= u.lo && ip <= u.hi;
}

/** The i-th subnet of the given prefix inside `outer` (no bounds check beyond the call below). */
export function nthSubnet(outer: Cidr, prefix: number, i: number): Cidr {
  if (prefix < outer.prefix || prefix > 32) throw new CidrError(`/${prefix} does not fit in ${formatCidr(outer)}`);
  const count = 2 ** (prefix - outer.prefix);
  if (!Number.isInteger(i) || i < 0 || i >= count) throw new CidrError(`subnet index ${i} out of range`);
  return { base: outer.base + i * 2 ** (32 - prefix), prefix };
}

export function subnetCount(outer: Cidr, prefix: number): number {
  return prefix < outer.prefix ? 0 : 2 ** (prefix - outer.prefix);
}

/** Used only to keep an address inside uint32 after arithmetic. */
export function isIp(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < TWO32;
}

/** runs a parse, turning its CidrError into the caller's own error type (e.g. a plugin BadRequest) */
export function parseOr<T>(parse: () => T, wrap: (message: string) => Error): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof CidrError) throw wrap(e.message);
    throw e;
  }
}
