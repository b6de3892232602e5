/**
 * The one narrow interface through which weft changes the kernel's network state.
 * Implemented by the real rtnetlink client (./rtnetlink.ts) and by an in-memory
 * recording fake (./fake.ts) for unit tests. Every method throws NetlinkError
 * (./errors.ts) with a typed `code` ('EEXIST', 'ENODEV', 'ENOENT', 'EINVAL', …).
 */

export type LinkKind = 'bridge' | 'veth' | 'vxlan' | 'tun' | 'dummy' | 'other';

export interface LinkInfo {
  index: number;
  name: string;
  kind: LinkKind;
  mtu: number;
  /** lower-case colon form, e.g. "02:42:0a:20:00:01" */
  mac: string;
  up: boolean;
  /** ifindex of the bridge this link is enslaved to */
  masterIndex?: number;
  /** vxlan only */
  vxlan?: { vni: number; port: number; learning: boolean; local?: string; dev?: number };
}

export interface BridgeSpec { name: string; mtu?: number; mac?: string }
export interface VethSpec {
  name: string;          // host end
  peerName: string;      // the end Docker moves into the container
  mtu?: number;
  mac?: string;          // host end
  peerMac?: string;
}
export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;          // destination UDP port
  local?: string;        // underlay source address
  dev?: string;          // underlay device name
  mtu?: number;
  learning: boolean;
}
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** bridge name to enslave to; null releases it */
  master?: string | null;
}

export interface AddressInfo { ifindex: number; cidr: string }  // "10.32.0.1/12"
export interface RouteSpec { dst: string; gateway?: string; dev?: string }  // dst CIDR, "0.0.0.0/0" default
export interface RouteInfo { dst: string; gateway?: string; ifindex?: number; table: number }
export interface NeighbourSpec { dev: string; ip: string; mac: string }      // permanent ARP entry
export interface NeighbourInfo { ifindex: number; ip: string; mac?: string; state: number }
/** Bridge FDB entry on a vxlan device: `mac` behind underlay `dst` (all-zero MAC = flood/head-end replication) */
export interface FdbSpec { dev: string; mac: string; dst: string }
export interface FdbInfo { ifindex: number; mac: string; dst?: string; master?: number; self: boolean }

export interface Netlink {
  listLinks(): Promise<LinkInfo[]>;
  /** undefined when no such link */
  getLink(name: string): Promise<LinkInfo | undefined>;
  createBridge(spec: BridgeSpec): Promise<void>;
  createVeth(spec: VethSpec): Promise<void>;
  createVxlan(spec: VxlanSpec): Promise<void>;
  setLink(name: string, change: LinkChange): Promise<void>;
  deleteLink(name: string): Promise<void>;

  listAddresses(dev?: string): Promise<AddressInfo[]>;
  addAddress(dev: string, cidr: string): Promise<void>;
  deleteAddress(dev: string, cidr: string): Promise<void>;

  listRoutes(): Promise<RouteInfo[]>;
  addRoute(route: RouteSpec): Promise<void>;
  deleteRoute(route: RouteSpec): Promise<void>;

  listNeighbours(dev?: string): Promise<NeighbourInfo[]>;
  /** replaces an existing entry for the same ip (NLM_F_REPLACE) */
  setNeighbour(n: NeighbourSpec): Promise<void>;
  deleteNeighbour(n: { dev: string; ip: string }): Promise<void>;

  listFdb(dev?: string): Promise<FdbInfo[]>;
  /** appends (NLM_F_APPEND) so several dsts for the all-zero MAC give head-end replication */
  addFdb(f: FdbSpec): Promise<void>;
  deleteFdb(f: FdbSpec): Promise<void>;

  close(): Promise<void>;
}
