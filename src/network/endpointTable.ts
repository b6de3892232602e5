/**
 * The cluster's endpoint table: every host gossips its own endpoints (address,
 * MAC, subnet, container name), so each peer knows where every container lives.
 * Entries of a dead peer stay until it returns or is removed. Pure helpers; the
 * replication is a SegmentChannel.
 */
import type { PeerId } from '../mesh/peerId';
import type { EndpointRecord, NetworkRecord } from './model';

export interface EndpointEntry {
  id: string;
  subnet: string;
  /** "10.32.0.5" */
  ip: string;
  mac: string;
  container?: string;
  /** when the endpoint was created (its host's clock): the newer of two claims to one MAC or IP wins during a move */
  since?: number;
}

export interface ClusterEndpoint extends EndpointEntry {
  host: PeerId;
}

/**
 * When this host first heard of each endpoint in the cluster table (its own
 * clock): how fresh its view of where containers live is, and what the mesh
 * benchmark reads instead of polling every daemon. An endpoint that leaves and
 * returns is new again. Pure.
 */
export class KnownSince {
  private readonly at = new Map<string, number>();

  /** takes the whole table after each change */
  update(endpoints: readonly ClusterEndpoint[], now: number): void {
    const present = new Set(endpoints.map(knownKey));
    for (const k of this.at.keys()) if (!present.has(k)) this.at.delete(k);
    for (const k of present) if (!this.at.has(k)) this.at.set(k, now);
  }

  get(e: ClusterEndpoint): number | undefined {
    return this.at.get(knownKey(e));
  }
}

/** an endpoint id is Docker's and unique, but the same id under another host is another sighting */
const knownKey = (e: ClusterEndpoint) => `${e.host}/${e.id}`;

/** this host's entries, from its records and the container names Docker told us */
export function localEntries(endpoints: readonly EndpointRecord[], networks: readonly NetworkRecord[], names: ReadonlyMap<string, string>): EndpointEntry[] {
  const subnet = new Map(networks.map((n) => [n.id, n.subnet]));
  return endpoints
    .filter((e) => subnet.has(e.networkId))
    .map((e) => {
      const name = names.get(e.id);
      return { id: e.id, subnet: subnet.get(e.networkId)!, ip: e.address.split('/')[0], mac: e.mac, ...(name ? { container: name } : {}), since: e.createdAt };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function flatten(segments: ReadonlyArray<{ writer: PeerId; data: EndpointEntry[] }>): ClusterEndpoint[] {
  return segments.flatMap((s) => s.data.map((e) => ({ ...e, host: s.writer })));
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IP_RE = /^\d{1,3}(\.\d{1,3}){3}$/;

export function validateEntries(d: unknown): EndpointEntry[] {
  if (!Array.isArray(d) || d.length > 10_000) throw new Error('bad endpoint list');
  return d.map((x: unknown) => {
    const e = x as Record<string, unknown>;
    if (typeof e.id !== 'string' || e.id.length > 128 || typeof e.subnet !== 'string' || typeof e.ip !== 'string' || !IP_RE.test(e.ip) || typeof e.mac !== 'string' || !MAC_RE.test(e.mac)) {
      throw new Error('bad endpoint');
    }
    if (e.container !== undefined && (typeof e.container !== 'string' || e.container.length > 256)) throw new Error('bad endpoint');
    if (e.since !== undefined && (typeof e.since !== 'number' || !Number.isFinite(e.since))) throw new Error('bad endpoint');
    return {
      id: e.id, subnet: e.subnet, ip: e.ip, mac: e.mac,
      ...(e.container !== undefined ? { container: e.container as string } : {}),
      ...(e.since !== undefined ? { since: e.since as number } : {}),
    };
  });
}
