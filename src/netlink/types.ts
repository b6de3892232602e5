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
  /** the largest GSO packet the stack builds for the link (IFLA_GSO_MAX_SIZE; the kernel reports it for every link) */
  gsoMaxSize?: number;
  /** ifindex of the bridge this link is enslaved to */
  masterIndex?: number;
  /** vxlan only */
  vxlan?: { vni: number; port: number; learning: boolean; proxy: boolean; local?: string; dev?: number };
  /** bridge ports only: the port's flags (a fresh port has learning on, isolated off) */
  bridgePort?: BridgePortFlags;
}

export interface BridgePortFlags { learning: boolean; isolated: boolean }

/**
 * Another network namespace, held open (./netns.ts): links can be made in it or moved to it. A Netlink
 * works in its own namespace; only these calls reach across.
 */
export interface NetnsRef { readonly path: string; readonly fd: number }

export interface BridgeSpec { name: string; mtu?: number; mac?: string }
export interface VethSpec {
  name: string;          // host end
  peerName: string;      // the end Docker moves into the container
  mtu?: number;
  mac?: string;          // host end
  peerMac?: string;
  master?: string;       // the host end's bridge, set in the same request
  up?: boolean;          // the host end only; Docker brings the peer up in the container
  /** the peer is made in that namespace (where Docker looks for it), the host end here */
  peerNetns?: NetnsRef;
}
export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;          // destination UDP port
  local?: string;        // underlay source address
  dev?: string;          // underlay device name
  mtu?: number;
  mac?: string;
  learning: boolean;
  /** answer ARP for IPs in the device's neighbour table instead of flooding the request */
  proxy?: boolean;
  /**
   * the device is made in that namespace, while its UDP socket, `local` and `dev` stay in this one (the
   * underlay's): from there on its ports, FDB and neighbours are that namespace's Netlink's to change
   */
  netns?: NetnsRef;
}
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** bridge name to enslave to; null releases it */
  master?: string | null;
  /**
   * gso_max_size (IFLA_GSO_MAX_SIZE): the largest GSO packet the stack builds for the link; ERANGE below
   * the kernel's minimum (MAX_TCP_HEADER + 1), EINVAL above the device's tso_max_size
   */
  gsoMaxSize?: number;
}

export interface AddressInfo { ifindex: number; cidr: string }  // "10.32.0.1/12"
export interface RouteSpec {
  dst: string; gateway?: string; dev?: string;  // dst CIDR, "0.0.0.0/0" default
  /** RTPROT_* of the route: who made it (iproute2's default, boot, when unset). Deletes match any protocol. */
  protocol?: number;
  /**
   * 'unreachable' (RTN_UNREACHABLE): the kernel answers ICMP unreachable; no gateway or dev allowed (EINVAL).
   * Unset is unicast; a delete with a type given matches only routes of that type.
   */
  type?: 'unicast' | 'unreachable';
  /**
   * RTA_PRIORITY, the metric (0 when unset): routes to one dst with different metrics coexist and the lowest
   * wins; EEXIST and replace concern only the same metric; a delete without one takes the lowest.
   */
  priority?: number;
}
export interface RouteInfo {
  dst: string; gateway?: string; ifindex?: number; table: number;
  protocol: number;
  /** an unreachable route has neither gateway nor ifindex */
  type: 'unicast' | 'unreachable' | 'other';
  /** the metric; absent when 0 (the kernel lists it only when set) */
  priority?: number;
}
export interface NeighbourSpec { dev: string; ip: string; mac: string }      // permanent ARP entry
export interface NeighbourInfo { ifindex: number; ip: string; mac?: string; state: number }
/**
 * An FDB entry on `dev`, one of two kinds (giving both or neither is EINVAL):
 * - `dst`: the vxlan device's own entry (NTF_SELF): `mac` behind underlay `dst`
 *   (the all-zero MAC = the flood list, head-end replication);
 * - `master: true`: the bridge's static entry (NTF_MASTER, NUD_NOARP) sending `mac` out of port `dev`.
 */
export interface FdbSpec { dev: string; mac: string; dst?: string; master?: boolean }
export interface FdbInfo {
  ifindex: number;
  mac: string;
  /**
   * NUD_*: the device's own entries as added (weft adds PERMANENT); the bridge's entries PERMANENT for a
   * port's own address, NOARP for static ones, anything else for learned ones
   */
  state: number;
  /** the device's own entry (NTF_SELF) */
  self: boolean;
  dst?: string;
  /** ifindex of the bridge, for the bridge's entries */
  master?: number;
}

export interface Netlink {
  listLinks(): Promise<LinkInfo[]>;
  /** undefined when no such link */
  getLink(name: string): Promise<LinkInfo | undefined>;
  createBridge(spec: BridgeSpec): Promise<void>;
  createVeth(spec: VethSpec): Promise<void>;
  createVxlan(spec: VxlanSpec): Promise<void>;
  setLink(name: string, change: LinkChange): Promise<void>;
  /** changes a bridge port's flags; EOPNOTSUPP when the link is not enslaved to a bridge */
  setBridgePort(name: string, p: Partial<BridgePortFlags>): Promise<void>;
  deleteLink(name: string): Promise<void>;
  /**
   * Moves the link to another namespace, where it arrives down, off any bridge, without addresses (a
   * TAP keeps its file descriptor). EEXIST when the name is taken there, EINVAL for a link bound to its
   * namespace (lo), EBADF for a descriptor that is no namespace.
   */
  moveLink(name: string, to: NetnsRef): Promise<void>;

  listAddresses(dev?: string): Promise<AddressInfo[]>;
  addAddress(dev: string, cidr: string): Promise<void>;
  deleteAddress(dev: string, cidr: string): Promise<void>;

  /** the IPv4 unicast and unreachable routes of the main table */
  listRoutes(): Promise<RouteInfo[]>;
  /** EEXIST when the main table has a route to dst, whatever its nexthop, type or protocol */
  addRoute(route: RouteSpec): Promise<void>;
  /** adds or overwrites the main-table route with this dst (NLM_F_CREATE|NLM_F_REPLACE, as `ip route replace`) */
  replaceRoute(route: RouteSpec): Promise<void>;
  /** ESRCH when no route matches: dst, and the gateway, dev and type when given */
  deleteRoute(route: RouteSpec): Promise<void>;

  listNeighbours(dev?: string): Promise<NeighbourInfo[]>;
  /** replaces an existing entry for the same ip (NLM_F_REPLACE) */
  setNeighbour(n: NeighbourSpec): Promise<void>;
  deleteNeighbour(n: { dev: string; ip: string }): Promise<void>;

  listFdb(dev?: string): Promise<FdbInfo[]>;
  /**
   * Appends (NLM_F_APPEND) a vxlan `dst` entry (master is EINVAL): several dsts for the all-zero MAC give
   * head-end replication; a unicast MAC keeps its first dst.
   */
  addFdb(f: FdbSpec): Promise<void>;
  /**
   * Creates or replaces (NLM_F_CREATE|NLM_F_REPLACE). `dst`: a unicast MAC's vxlan entry now points at dst
   * only (the all-zero/multicast MACs are EOPNOTSUPP: use addFdb). `master`: the bridge's static entry for
   * mac moves to port `dev` (EOPNOTSUPP when dev is not a bridge port).
   */
  setFdb(f: FdbSpec): Promise<void>;
  /** removes that dst of mac (an unknown dst of a known MAC is a no-op), or the bridge's entry of mac on port dev; ENOENT if absent */
  deleteFdb(f: FdbSpec): Promise<void>;

  close(): Promise<void>;
}
