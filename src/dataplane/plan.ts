/**
 * What the data plane of one network should look like on this host, from the
 * cluster's endpoint table and the path to each peer. Pure: the kernel side
 * (./kernelPlane.ts) and the sleeve (./sleeve.ts) each take their part.
 *
 * Every remote MAC gets a static bridge entry on the port that leads to its
 * host (VXLAN for fast-path peers, the sleeve's TAP otherwise), so the bridge
 * never floods unicast to all ports; fast-path MACs also get a VXLAN entry with
 * the host's underlay address, and their IPs a proxy-ARP entry so ARP does not
 * cross the mesh. Broadcast reaches fast-path peers by head-end replication
 * (the all-zero MAC, one entry per peer) and sleeve peers through weft.
 */
import type { PeerId } from '../mesh/peerId';
import type { ClusterEndpoint } from '../network/endpointTable';

export type PathMode = 'fastdp' | 'sleeve' | 'relay' | 'unreachable';

export interface Path {
  mode: PathMode;
  /** the neighbour that relays, for 'relay' */
  via?: PeerId;
}

/** a local network as the data plane sees it */
export interface OverlayNetwork {
  id: string;
  /** "10.32.0.0/16" */
  subnet: string;
  vni: number;
  /** the VXLAN port's name; undefined when the fast path is off on this host */
  vxlan?: string;
  tap: string;
  /** bare gateway address: the same anycast address on every host, never forwarded */
  gateway?: string;
}

export interface PlanInput {
  self: PeerId;
  network: OverlayNetwork;
  /** the whole cluster's endpoints (every subnet, every host, ours included) */
  endpoints: readonly ClusterEndpoint[];
  path(peer: PeerId): Path;
  underlayIp(peer: PeerId): string | undefined;
  /** peers that have this network, so broadcast goes only where it can land */
  hostsOfSubnet: ReadonlySet<PeerId>;
}

export interface NetworkPlan {
  /** VXLAN device entries: remote MAC → its host's underlay address */
  vxlanMacs: Map<string, string>;
  /** head-end replication: underlay addresses of the fast-path peers with the network, sorted */
  flood: string[];
  /** proxy-ARP on the VXLAN device: ip → mac of endpoints on fast-path peers */
  neighbours: Map<string, string>;
  /** static bridge entries: remote MAC → the port that leads to it */
  ports: Map<string, 'vxlan' | 'tap'>;
  /** the sleeve: MAC → the peer hosting it, for endpoints reached through weft */
  sleeveMacs: Map<string, PeerId>;
  /** the sleeve: peers reached through weft that have the network (broadcast and unknown unicast) */
  sleeveFlood: PeerId[];
  /** the sleeve answers ARP for these itself: ip → mac */
  arp: Map<string, string>;
  /** every endpoint of the network, resolved (ours too): ip → mac, to announce moves */
  addresses: Map<string, string>;
}

/**
 * One endpoint per MAC and per IP while a move is in flight (the new host has
 * published, the old one not yet withdrawn): ours wins, then the newer, then
 * the larger host id so that every peer picks the same.
 */
export function resolve(self: PeerId, endpoints: readonly ClusterEndpoint[]): { byMac: Map<string, ClusterEndpoint>; byIp: Map<string, ClusterEndpoint> } {
  const byMac = new Map<string, ClusterEndpoint>();
  const byIp = new Map<string, ClusterEndpoint>();
  for (const e of endpoints) {
    const m = byMac.get(e.mac);
    if (!m || wins(self, e, m)) byMac.set(e.mac, e);
    const i = byIp.get(e.ip);
    if (!i || wins(self, e, i)) byIp.set(e.ip, e);
  }
  return { byMac, byIp };
}

function wins(self: PeerId, a: ClusterEndpoint, b: ClusterEndpoint): boolean {
  if ((a.host === self) !== (b.host === self)) return a.host === self;
  const sa = a.since ?? 0;
  const sb = b.since ?? 0;
  if (sa !== sb) return sa > sb;
  return a.host > b.host || (a.host === b.host && a.id > b.id);
}

export function planNetwork(i: PlanInput): NetworkPlan {
  const { self, network } = i;
  const fast = (p: PeerId) => network.vxlan !== undefined && i.path(p).mode === 'fastdp' && i.underlayIp(p) !== undefined;
  const reachable = (p: PeerId) => i.path(p).mode !== 'unreachable';
  const plan: NetworkPlan = {
    vxlanMacs: new Map(), flood: [], neighbours: new Map(), ports: new Map(),
    sleeveMacs: new Map(), sleeveFlood: [], arp: new Map(), addresses: new Map(),
  };
  const { byMac, byIp } = resolve(self, i.endpoints.filter((e) => e.subnet === network.subnet));
  for (const e of byMac.values()) {
    if (e.host === self || !reachable(e.host)) continue;
    if (fast(e.host)) {
      plan.vxlanMacs.set(e.mac, i.underlayIp(e.host)!);
      plan.ports.set(e.mac, 'vxlan');
    } else {
      plan.sleeveMacs.set(e.mac, e.host);
      plan.ports.set(e.mac, 'tap');
    }
  }
  for (const e of byIp.values()) {
    if (e.ip === network.gateway) continue;
    plan.addresses.set(e.ip, e.mac);
    if (e.host === self || !reachable(e.host) || byMac.get(e.mac) !== e) continue;
    if (fast(e.host)) plan.neighbours.set(e.ip, e.mac);
    else plan.arp.set(e.ip, e.mac);
  }
  const flood = new Set<string>();
  for (const p of [...i.hostsOfSubnet].sort()) {
    if (p === self || !reachable(p)) continue;
    if (fast(p)) flood.add(i.underlayIp(p)!);
    else plan.sleeveFlood.push(p);
  }
  plan.flood = [...flood].sort();
  return plan;
}

export interface RoutePlanInput {
  self: PeerId;
  /** the routed network's subnet, "10.44.0.0/16" */
  subnet: string;
  gateway?: string;
  endpoints: readonly ClusterEndpoint[];
  path(peer: PeerId): Path;
  underlayIp(peer: PeerId): string | undefined;
}

/**
 * A routed network's routes to other hosts' containers: address → the underlay address of the host that
 * has it. Only peers heard directly: the underlay must carry the subnet's packets to them as they are
 * (a relay would have no route onward); the others' containers stay behind the subnet's unreachable route.
 */
export function planRoutes(i: RoutePlanInput): Map<string, string> {
  const out = new Map<string, string>();
  const { byIp } = resolve(i.self, i.endpoints.filter((e) => e.subnet === i.subnet));
  for (const e of byIp.values()) {
    if (e.host === i.self || e.ip === i.gateway) continue;
    const mode = i.path(e.host).mode;
    const via = i.underlayIp(e.host);
    if ((mode === 'fastdp' || mode === 'sleeve') && via !== undefined) out.set(e.ip, via);
  }
  return out;
}
