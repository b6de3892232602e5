/**
 * Networks follow the cluster. Each host gossips the weft networks its Docker
 * has (name, subnet, options) and the ones its user removed; the cluster's view
 * is, per (name, subnet), the latest event anywhere: created, or removed. A host
 * creates what the view has and it lacks, and removes what the view removed once
 * no container of its own is on it. Pure.
 */
import { parseMode } from './model';

export interface NetworkDef {
  name: string;
  subnet: string;
  ipRange?: string;
  gateway?: string;
  ipamDriver: string;
  internal: boolean;
  mtu?: string;
  /** `-o weft.mode=…` as given (model.ts NetworkMode); copies are made with the same */
  mode?: string;
  /** when it was first created anywhere (ms); copies keep the original's time */
  at: number;
}

export interface Removal {
  name: string;
  subnet: string;
  at: number;
}

/** one host's gossiped segment */
export interface HostNetworks {
  networks: NetworkDef[];
  removed: Removal[];
}

/** what Docker on this host has, for the plan */
export interface LocalNetwork {
  name: string;
  def: Omit<NetworkDef, 'at'>;
  containers: number;
  /** set when this host created it from the cluster's definition: that definition's time */
  copiedAt?: number;
}

export const keyOf = (n: { name: string; subnet: string }) => `${n.name}|${n.subnet}`;

/** per key, the latest event across hosts: a live definition, or undefined when removed last */
export function clusterView(hosts: readonly HostNetworks[]): Map<string, NetworkDef> {
  const created = new Map<string, NetworkDef>();
  const removed = new Map<string, number>();
  for (const h of hosts) {
    for (const n of h.networks) {
      const cur = created.get(keyOf(n));
      // the earliest creation is the network's identity; ties break on the definition for determinism
      if (!cur || n.at < cur.at || (n.at === cur.at && JSON.stringify(n) < JSON.stringify(cur))) created.set(keyOf(n), n);
    }
    for (const r of h.removed) removed.set(keyOf(r), Math.max(removed.get(keyOf(r)) ?? 0, r.at));
  }
  const view = new Map<string, NetworkDef>();
  for (const [k, def] of created) {
    const newestCreate = Math.max(...hosts.flatMap((h) => h.networks.filter((n) => keyOf(n) === k).map((n) => n.at)));
    if ((removed.get(k) ?? -1) < newestCreate) view.set(k, def);
  }
  return view;
}

/**
 * This host's new segment: its Docker's networks (timed by the cluster's
 * original creation when known, else now; a copy keeps the time of what it
 * copied, so one that lands after the removal cannot bring the network back), plus a removal for each network the
 * cluster still has that this host had before and has no more (its user removed it).
 */
export function localSegment(local: readonly LocalNetwork[], previous: HostNetworks | undefined, view: ReadonlyMap<string, NetworkDef>, now: number): HostNetworks {
  const networks = local.map((l) => {
    const k = keyOf({ name: l.name, subnet: l.def.subnet });
    const prev = previous?.networks.find((n) => keyOf(n) === k);
    return { ...l.def, name: l.name, at: prev?.at ?? l.copiedAt ?? view.get(k)?.at ?? now };
  });
  const have = new Set(networks.map(keyOf));
  const removed = [...(previous?.removed ?? [])].filter((r) => !have.has(keyOf(r)));
  for (const p of previous?.networks ?? []) {
    if (!have.has(keyOf(p)) && view.has(keyOf(p)) && !removed.some((r) => keyOf(r) === keyOf(p))) removed.push({ name: p.name, subnet: p.subnet, at: now });
  }
  return { networks, removed };
}

/** what to do on this host: networks to create, and local network names to remove */
export function plan(local: readonly LocalNetwork[], view: ReadonlyMap<string, NetworkDef>, removedKeys: ReadonlySet<string>): { create: NetworkDef[]; remove: string[] } {
  const localKeys = new Set(local.map((l) => keyOf({ name: l.name, subnet: l.def.subnet })));
  const localNames = new Set(local.map((l) => l.name));
  // a name taken locally by another subnet is left alone (and reported by the caller)
  const create = [...view.values()].filter((d) => !localKeys.has(keyOf(d)) && !localNames.has(d.name));
  const remove = local.filter((l) => removedKeys.has(keyOf({ name: l.name, subnet: l.def.subnet })) && l.containers === 0).map((l) => l.name);
  return { create, remove };
}

/** keys whose latest event is a removal */
export function removedKeys(hosts: readonly HostNetworks[]): Set<string> {
  const view = clusterView(hosts);
  const out = new Set<string>();
  for (const h of hosts) for (const r of h.removed) if (!view.has(keyOf(r))) out.add(keyOf(r));
  return out;
}

const CIDR_RE = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const str = (v: unknown, max = 128): v is string => typeof v === 'string' && v.length <= max;

/** checks a segment from the wire; throws on anything malformed */
export function validateHostNetworks(d: unknown): HostNetworks {
  const o = d as { networks?: unknown; removed?: unknown };
  if (!o || !Array.isArray(o.networks) || !Array.isArray(o.removed) || o.networks.length > 1000 || o.removed.length > 10000) throw new Error('bad networks segment');
  const networks = o.networks.map((x: unknown): NetworkDef => {
    const n = x as Record<string, unknown>;
    if (!str(n.name) || !str(n.subnet) || !CIDR_RE.test(n.subnet) || !str(n.ipamDriver) || typeof n.internal !== 'boolean' || !Number.isFinite(n.at)) throw new Error('bad network');
    if ((n.ipRange !== undefined && !(str(n.ipRange) && CIDR_RE.test(n.ipRange))) || (n.gateway !== undefined && !str(n.gateway)) || (n.mtu !== undefined && !str(n.mtu))) throw new Error('bad network');
    if (n.mode !== undefined && parseMode(n.mode) === undefined) throw new Error('bad network');
    return {
      name: n.name, subnet: n.subnet, ipamDriver: n.ipamDriver, internal: n.internal, at: n.at as number,
      ...(n.ipRange !== undefined ? { ipRange: n.ipRange as string } : {}),
      ...(n.gateway !== undefined ? { gateway: n.gateway as string } : {}),
      ...(n.mtu !== undefined ? { mtu: n.mtu as string } : {}),
      ...(n.mode !== undefined ? { mode: n.mode as string } : {}),
    };
  });
  const removed = o.removed.map((x: unknown): Removal => {
    const r = x as Record<string, unknown>;
    if (!str(r.name) || !str(r.subnet) || !Number.isFinite(r.at)) throw new Error('bad removal');
    return { name: r.name, subnet: r.subnet, at: r.at as number };
  });
  return { networks, removed };
}
