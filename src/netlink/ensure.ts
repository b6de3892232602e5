/**
 * Idempotent helpers over any Netlink, for the create paths and the reconciler: each makes the
 * kernel match a spec and says what it had to do. Races with a concurrent creator are tolerated.
 */
import { normalizeMac } from './codec/addr';
import { NetlinkError, type NetlinkErrorCode } from './errors';
import type { BridgeSpec, FdbSpec, LinkChange, LinkInfo, LinkKind, Netlink, RouteSpec, VethSpec, VxlanSpec } from './types';

export type EnsureResult = 'created' | 'updated' | 'unchanged';

/** Creates the bridge if missing, then fixes mtu/mac/up where they differ. */
export async function ensureBridge(nl: Netlink, spec: BridgeSpec & { up?: boolean }): Promise<EnsureResult> {
  const created = await createUnlessPresent(nl, spec.name, 'bridge', () => nl.createBridge(spec));
  return settle(nl, spec.name, created, spec);
}

/**
 * Creates the pair if the host end is missing, then fixes the host end's mtu/mac/master/up.
 * The peer is not checked: once Docker moves it into a container it is no longer visible here.
 */
export async function ensureVeth(
  nl: Netlink, spec: VethSpec & { master?: string | null; up?: boolean },
): Promise<EnsureResult> {
  const created = await createUnlessPresent(nl, spec.name, 'veth', () => nl.createVeth(spec));
  return settle(nl, spec.name, created, spec);
}

/**
 * Creates the vxlan device if missing. One whose vni/port/learning/proxy/local/dev differ is deleted and
 * re-created (the kernel cannot change most of these in place), which drops its FDB entries:
 * callers re-add them whenever the result is 'created'. `maker`: the namespace whose request makes it
 * (its socket's and `dev`'s), when that is not nl's; spec.netns then names nl's namespace.
 */
export async function ensureVxlan(nl: Netlink, spec: VxlanSpec & { up?: boolean }, maker: Netlink = nl): Promise<EnsureResult> {
  const existing = await nl.getLink(spec.name);
  if (existing && !(await vxlanMatches(maker, existing, spec))) await removeLink(nl, spec.name);
  const created = await createUnlessPresent(nl, spec.name, 'vxlan', () => maker.createVxlan(spec));
  return settle(nl, spec.name, created, spec);
}

/** Fixes mtu/mac/master/up of an existing link where they differ (ENODEV when it is missing). */
export function settleLink(nl: Netlink, name: string, want: { mtu?: number; mac?: string; master?: string | null; up?: boolean }): Promise<EnsureResult> {
  return settle(nl, name, false, want);
}

/** Adds ip/prefix to dev; true if it was added, false if it was already there. */
export async function ensureAddress(nl: Netlink, dev: string, cidr: string): Promise<boolean> {
  return tolerate(() => nl.addAddress(dev, cidr), 'EEXIST');
}

/** Removes the address; false if it (or the device) was already gone. */
export async function removeAddress(nl: Netlink, dev: string, cidr: string): Promise<boolean> {
  return tolerate(() => nl.deleteAddress(dev, cidr), 'EADDRNOTAVAIL', 'ENODEV');
}

/** Deletes the link (a veth takes its peer along); false if it did not exist. */
export async function removeLink(nl: Netlink, name: string): Promise<boolean> {
  return tolerate(() => nl.deleteLink(name), 'ENODEV');
}

/** Adds the route; false if a route to that prefix already exists (its nexthop is not compared). */
export async function ensureRoute(nl: Netlink, route: RouteSpec): Promise<boolean> {
  return tolerate(() => nl.addRoute(route), 'EEXIST');
}

export async function removeRoute(nl: Netlink, route: RouteSpec): Promise<boolean> {
  return tolerate(() => nl.deleteRoute(route), 'ESRCH', 'ENODEV');
}

export async function removeNeighbour(nl: Netlink, n: { dev: string; ip: string }): Promise<boolean> {
  return tolerate(() => nl.deleteNeighbour(n), 'ENOENT', 'ENODEV');
}

export async function removeFdb(nl: Netlink, f: FdbSpec): Promise<boolean> {
  return tolerate(() => nl.deleteFdb(f), 'ENOENT', 'ENODEV');
}

// ---- internals

async function tolerate(fn: () => Promise<void>, ...codes: NetlinkErrorCode[]): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && codes.includes(e.code)) return false;
    throw e;
  }
}

/** true if this call created the link; a name taken by another kind of link is an EEXIST with a plain message */
async function createUnlessPresent(nl: Netlink, name: string, kind: LinkKind, create: () => Promise<void>): Promise<boolean> {
  let link = await nl.getLink(name);
  let created = false;
  if (!link) {
    created = await tolerate(create, 'EEXIST'); // lost a race: fall through and check what won
    link = await nl.getLink(name);
    if (!link) throw NetlinkError.of('ENODEV', `ensure ${kind} ${name}`, 'it vanished right after creation');
  }
  if (link.kind !== kind) {
    throw NetlinkError.of('EEXIST', `ensure ${kind} ${name}`, `a ${link.kind} device already has that name`);
  }
  return created;
}

/** Applies whatever of mtu/mac/master/up differs from the live link, in one setLink. */
async function settle(
  nl: Netlink, name: string, created: boolean,
  want: { mtu?: number; mac?: string; master?: string | null; up?: boolean },
): Promise<EnsureResult> {
  const link = await nl.getLink(name);
  if (!link) throw NetlinkError.of('ENODEV', `ensure ${name}`);
  const change: LinkChange = {};
  if (want.mtu !== undefined && link.mtu !== want.mtu) change.mtu = want.mtu;
  if (want.mac !== undefined && link.mac !== normalizeMac(want.mac)) change.mac = want.mac;
  if (want.master !== undefined) {
    const masterIndex = want.master === null ? undefined : (await nl.getLink(want.master))?.index ?? -1;
    if (link.masterIndex !== masterIndex) change.master = want.master; // -1: setLink reports the ENODEV
  }
  if (want.up !== undefined && link.up !== want.up) change.up = want.up;
  if (Object.keys(change).length === 0) return created ? 'created' : 'unchanged';
  await nl.setLink(name, change);
  return created ? 'created' : 'updated';
}

async function vxlanMatches(nl: Netlink, link: LinkInfo, spec: VxlanSpec): Promise<boolean> {
  if (link.kind !== 'vxlan' || !link.vxlan) return true; // not ours to delete: createUnlessPresent reports it
  const v = link.vxlan;
  const dev = spec.dev === undefined ? undefined : (await nl.getLink(spec.dev))?.index;
  return v.vni === spec.vni && v.port === spec.port && v.learning === spec.learning && v.proxy === (spec.proxy ?? false)
    && v.local === spec.local && v.dev === dev;
}
