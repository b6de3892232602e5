/**
 * The cluster remembers endpoints that left: their MAC, address and subnet.
 * A container started again with the same --mac-address (Docker hands IPAM the
 * MAC) gets its old address back, on any host, without --ip. Each host gossips
 * its own most recent departures. Pure.
 */
import type { ClusterEndpoint, EndpointEntry } from './endpointTable';

export interface Departure {
  mac: string;
  ip: string;
  subnet: string;
  /** when it left (the leaving host's clock) */
  at: number;
}

/** per host: enough for a rolling restart of a big host, small enough for one datagram */
export const KEEP_DEPARTURES = 256;

/** the endpoints in `before` that are not in `after`, as departures at `now` */
export function departures(before: readonly EndpointEntry[], after: readonly EndpointEntry[], now: number): Departure[] {
  const still = new Set(after.map((e) => e.id));
  return before.filter((e) => !still.has(e.id)).map((e) => ({ mac: e.mac, ip: e.ip, subnet: e.subnet, at: now }));
}

/** newest first, one per (MAC, subnet), at most `keep` */
export function remember(list: readonly Departure[], added: readonly Departure[], keep = KEEP_DEPARTURES): Departure[] {
  const out: Departure[] = [];
  const seen = new Set<string>();
  for (const d of [...added, ...list].sort((a, b) => b.at - a.at)) {
    const k = `${d.mac}|${d.subnet}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(d);
    if (out.length === keep) break;
  }
  return out;
}

/**
 * The address a MAC last had in a subnet anywhere in the cluster, unless some
 * live endpoint holds that address now (then the caller allocates as usual).
 */
export function rememberedAddress(all: ReadonlyArray<readonly Departure[]>, live: readonly ClusterEndpoint[], mac: string, subnet: string): string | undefined {
  let best: Departure | undefined;
  for (const list of all) for (const d of list) if (d.mac === mac && d.subnet === subnet && (!best || d.at > best.at)) best = d;
  if (!best || live.some((e) => e.subnet === subnet && e.ip === best!.ip)) return undefined;
  return best.ip;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IP_RE = /^\d{1,3}(\.\d{1,3}){3}$/;
const CIDR_RE = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

export function validateDepartures(d: unknown): Departure[] {
  if (!Array.isArray(d) || d.length > KEEP_DEPARTURES) throw new Error('bad departure list');
  return d.map((x: unknown) => {
    const e = x as Record<string, unknown>;
    if (typeof e?.mac !== 'string' || !MAC_RE.test(e.mac) || typeof e.ip !== 'string' || !IP_RE.test(e.ip)
      || typeof e.subnet !== 'string' || !CIDR_RE.test(e.subnet) || typeof e.at !== 'number' || !Number.isFinite(e.at)) {
      throw new Error('bad departure');
    }
    return { mac: e.mac, ip: e.ip, subnet: e.subnet, at: e.at };
  });
}
