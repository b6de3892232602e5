/**
 * Peer addresses: IPv4 "a.b.c.d:port", the port defaulting to the mesh port.
 * Strict (no leading zeros, no host names) so one address has one spelling and
 * can key maps.
 */
import type { Addr } from './types';

export const DEFAULT_PORT = 6783;

export interface HostPort {
  host: string;
  port: number;
}

export class AddrError extends Error {
  override readonly name = 'AddrError';
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/** why s is not an IPv4 address, or undefined when it is one */
function ipv4Problem(s: string): string | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return 'expected four dot-separated numbers';
  for (const p of parts) {
    if (!OCTET.test(p)) return `"${p}" is not a decimal octet`;
    if (Number(p) > 255) return `${p} is above 255`;
  }
  return undefined;
}

function portProblem(s: string): string | undefined {
  if (!PORT.test(s) || Number(s) > 65535) return `port "${s}" is not a number in 1..65535`;
  return undefined;
}

function parse(s: string, defaultPort: number): HostPort | string {
  if (typeof s !== 'string' || s.length === 0) return 'empty address';
  if (s.includes('[') || s.split(':').length > 2) return 'IPv6 is not supported; use an IPv4 address';
  const colon = s.indexOf(':');
  const host = colon < 0 ? s : s.slice(0, colon);
  const portText = colon < 0 ? undefined : s.slice(colon + 1);
  const hostProblem = ipv4Problem(host);
  if (hostProblem) return `"${host}" is not an IPv4 address (${hostProblem})`;
  if (portText === undefined) return { host, port: defaultPort };
  const pp = portProblem(portText);
  return pp ?? { host, port: Number(portText) };
}

/** "1.2.3.4:6783" or "1.2.3.4" (default port); throws AddrError with the reason */
export function parseAddr(s: string, defaultPort = DEFAULT_PORT): HostPort {
  const r = parse(s, defaultPort);
  if (typeof r === 'string') throw new AddrError(`bad peer address ${JSON.stringify(s)}: ${r}`);
  return r;
}

/** like parseAddr, without throwing (hot paths) */
export function tryParseAddr(s: string, defaultPort = DEFAULT_PORT): HostPort | undefined {
  const r = parse(s, defaultPort);
  return typeof r === 'string' ? undefined : r;
}

export function formatAddr(a: HostPort): Addr {
  const hp = ipv4Problem(a.host);
  if (hp) throw new AddrError(`"${a.host}" is not an IPv4 address (${hp})`);
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new AddrError(`port ${a.port} is not in 1..65535`);
  return `${a.host}:${a.port}`;
}

/** the one spelling of an address: "1.2.3.4" → "1.2.3.4:6783" */
export function normalizeAddr(s: string, defaultPort = DEFAULT_PORT): Addr {
  return formatAddr(parseAddr(s, defaultPort));
}
