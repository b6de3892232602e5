/**
 * An in-memory Netlink with the kernel's semantics and errors (as checked by the shared behaviour
 * suite in test/kernel + test/unit/netlink), recording every mutating call for higher-layer tests.
 * Inputs go through the real codec encoders first, so malformed input fails exactly as in RtNetlink.
 */
import {
  formatCidr4, formatIpv4, inSubnet, isValidUnicastMac, networkOf, normalizeMac, parseCidr4, parseIpv4, parseMac,
} from './codec/addr';
import { encodeAddress } from './codec/address';
import { NUD_NOARP, NUD_PERMANENT, RT_TABLE_MAIN, RTPROT_BOOT, RTPROT_KERNEL } from './codec/constants';
import { EncodeError } from './codec/errors';
import { encodeBridgePort, encodeLinkByName, encodeNewLink, encodeSetLink, type NewLinkRequest } from './codec/link';
import { encodeBridgeFdb, encodeFdb, encodeNeighbour } from './codec/neighbour';
import { encodeRoute } from './codec/route';
import { NetlinkError, type NetlinkErrorCode } from './errors';
import { fdbOp, fdbTarget, opt, routeOp, routeRequest } from './util';
import type {
  AddressInfo, BridgePortFlags, BridgeSpec, FdbInfo, FdbSpec, LinkChange, LinkInfo, Netlink, NeighbourInfo,
  NeighbourSpec, NetnsRef, RouteInfo, RouteSpec, VethSpec, VxlanSpec,
} from './types';

export interface FakeCall { op: string; args: unknown; error?: NetlinkErrorCode }
type KnownCode = Exclude<NetlinkErrorCode, 'EUNKNOWN'>;

/**
 * peer: a veth's other end, in this namespace or another twin's; home: the namespace whose request made a
 * VXLAN device that lives in another one (its socket and lower device stay there)
 */
interface FLink extends LinkInfo { peer?: { ns: FakeNetlink; index: number }; home?: FakeNetlink }

/** fake namespace descriptors, far above real ones: a fake ref never names a real namespace */
let nextFakeFd = 1 << 20;
const twinByFd = new Map<number, FakeNetlink>();
/** a main-table route; an unreachable one has no link */
interface FRoute { dst: string; gateway?: string; ifindex?: number; protocol: number; type: 'unicast' | 'unreachable'; priority: number }
/** a bridge FDB entry; `port === bridge` is the bridge's own address; NUD_PERMANENT = local, NUD_NOARP = static */
interface FBridgeEntry { bridge: number; mac: string; port: number; state: number }

const MTU_MIN = 68;
const MTU_MAX = 65535;
const VXLAN_N_VID = 1 << 24;
const VXLAN_HEADROOM = 50; // IPv4 + UDP + VXLAN + inner Ethernet
const ENETDOWN = 100;
const ENETUNREACH = 101;
const ELOOP = 40;
/** every new link's gso_max_size, and tso_max_size of most kinds (GSO_LEGACY_MAX_SIZE, TSO_LEGACY_MAX_SIZE) */
const GSO_LEGACY_MAX_SIZE = 65536;
/** tso_max_size of veth and lo (GSO_MAX_SIZE: 512 KiB - 8, BIG TCP) */
const GSO_MAX_SIZE = 524280;
/** the policy minimum of IFLA_GSO_MAX_SIZE: MAX_TCP_HEADER + 1 (193 on the x86-64 6.18 kernel this was checked on; it depends on the config) */
const GSO_MIN_SIZE = 193;
const ZERO_MAC = '00:00:00:00:00:00';

export class FakeNetlink implements Netlink {
  /** every mutating call, in order, failed ones included (with their error code) */
  readonly calls: FakeCall[] = [];
  private readonly links = new Map<number, FLink>();
  private addrs: { ifindex: number; cidr: string }[] = [];
  private routes: FRoute[] = [];
  private neigh: { ifindex: number; ip: string; mac: string }[] = [];
  /** vxlan devices' own entries: `${ifindex} ${mac}` -> remote dsts, in insertion order */
  private fdb = new Map<string, string[]>();
  /** the bridges' entries, newest first like the kernel's list */
  private brFdb: FBridgeEntry[] = [];
  private readonly faults: { op: string; code: KnownCode }[] = [];
  private readonly holds: { op: string; gate: Promise<void> }[] = [];
  /** links moved to another namespace (a container's), by index */
  private readonly away = new Map<number, FLink>();
  /** VXLAN devices this namespace's requests made in other twins: deleting their lower device here deletes them */
  private readonly exported: { ns: FakeNetlink; index: number }[] = [];
  private netnsRef?: NetnsRef;
  private nextIndex = 1;
  private macCounter = 0;

  /** A fresh namespace: just `lo` (index 1, down), unless `loopback: false`. */
  constructor(opts: { loopback?: boolean } = {}) {
    if (opts.loopback ?? true) this.add({ name: 'lo', kind: 'other', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
  }

  /**
   * This twin as a namespace other twins can reach (VethSpec.peerNetns, VxlanSpec.netns, moveLink): one
   * ref per twin, its fd a fake one.
   */
  ref(path = `fake-netns-${nextFakeFd}`): NetnsRef {
    if (!this.netnsRef) {
      const fd = nextFakeFd++;
      twinByFd.set(fd, this);
      this.netnsRef = { path, fd };
    }
    return this.netnsRef;
  }

  /** Makes the next call of `op` (a method name, e.g. 'createVeth') fail with `code`, without changing state. */
  failNext(op: string, code: KnownCode): void {
    this.faults.push({ op, code });
  }

  /**
   * Holds the next call of `op` (a method name) in flight, as a slow kernel would: it is recorded at
   * once and takes effect (or fails) only after the returned release is called.
   */
  holdNext(op: string): () => void {
    let release!: () => void;
    this.holds.push({ op, gate: new Promise<void>((r) => (release = r)) });
    return release;
  }

  /**
   * What Docker does with an endpoint's container end when the container starts: moves it into the
   * container's namespace, where this namespace no longer sees it (a veth's peer stays here).
   */
  moveAway(name: string): void {
    const l = this.need(name, `move ${name} away`);
    if (l.masterIndex !== undefined || l.kind === 'bridge') throw new Error(`fake: ${name} is a bridge or a port; Docker moves only container ends`);
    this.links.delete(l.index);
    this.addrs = this.addrs.filter((a) => a.ifindex !== l.index);
    this.away.set(l.index, l);
  }

  /** ...and when it stops: the link comes back down, its addresses gone (as the kernel's move leaves it) */
  moveBack(name: string): void {
    const l = [...this.away.values()].find((x) => x.name === name);
    if (!l) throw new Error(`fake: ${name} was not moved away`);
    if (this.byName(name)) throw new Error(`fake: ${name} exists here already`);
    this.away.delete(l.index);
    this.links.set(l.index, { ...l, up: false });
  }

  async listLinks(): Promise<LinkInfo[]> {
    return [...this.links.values()].sort((a, b) => a.index - b.index).map(view);
  }

  async getLink(name: string): Promise<LinkInfo | undefined> {
    validate(`get link ${name}`, () => encodeLinkByName(name));
    const l = this.byName(name);
    return l && view(l);
  }

  createBridge(spec: BridgeSpec): Promise<void> {
    return this.mutate('createBridge', spec, `create bridge ${spec.name}`, (op) => {
      this.checkNew(op, { ...spec, info: { kind: 'bridge' } });
      const br = this.add({ name: spec.name, kind: 'bridge', mtu: spec.mtu ?? 1500, mac: this.mac(spec.mac), up: false });
      // only an address given explicitly becomes an FDB entry of the bridge itself
      if (spec.mac !== undefined) this.addLocal(br.index, br.index, br.mac);
    });
  }

  createVeth(spec: VethSpec): Promise<void> {
    return this.mutate('createVeth', spec, `create veth ${spec.name} peer ${spec.peerName}`, (op) => {
      const peer = { name: spec.peerName, ...opt('mtu', spec.mtu), ...opt('mac', spec.peerMac), ...opt('netnsFd', spec.peerNetns?.fd) };
      this.checkNew(op, { name: spec.name, ...opt('mtu', spec.mtu), ...opt('mac', spec.mac), info: { kind: 'veth', peer } });
      const there = spec.peerNetns === undefined ? this : twinOf(spec.peerNetns, op);
      there.checkNew(op, { ...peer, info: { kind: 'bridge' } });
      if (spec.name === spec.peerName && there === this) throw NetlinkError.of('EEXIST', op);
      const mtu = spec.mtu ?? 1500;
      // the kernel registers the peer first, so it gets the lower ifindex
      const master = spec.master === undefined ? undefined : this.need(spec.master, op);
      if (master && master.kind !== 'bridge') throw NetlinkError.of('EOPNOTSUPP', op);
      const p = there.add({ name: spec.peerName, kind: 'veth', mtu, mac: this.mac(spec.peerMac), up: false });
      const h = this.add({ name: spec.name, kind: 'veth', mtu, mac: this.mac(spec.mac), up: spec.up ?? false });
      p.peer = { ns: this, index: h.index };
      h.peer = { ns: there, index: p.index };
      if (master) this.enslave(h, master);
    });
  }

  createVxlan(spec: VxlanSpec): Promise<void> {
    return this.mutate('createVxlan', spec, `create vxlan ${spec.name}`, (op) => {
      const lower = spec.dev === undefined ? undefined : this.need(spec.dev, op);
      const params = { vni: spec.vni, port: spec.port, learning: spec.learning, proxy: spec.proxy ?? false, ...opt('local', spec.local) };
      const req: NewLinkRequest = {
        name: spec.name, ...opt('mtu', spec.mtu), ...opt('mac', spec.mac), ...opt('netnsFd', spec.netns?.fd),
        info: { kind: 'vxlan', ...params, ...opt('link', lower?.index) },
      };
      validate(op, () => encodeNewLink(req));
      const there = spec.netns === undefined ? this : twinOf(spec.netns, op);
      there.checkNew(op, req);
      if (spec.vni >= VXLAN_N_VID) throw NetlinkError.of('ERANGE', op);
      // the kernel keeps VXLAN devices per the namespace of their socket: this one's
      const clash = this.vxlansOfSocket().some((l) => l.vxlan && l.vxlan.vni === spec.vni && l.vxlan.port === spec.port && l.vxlan.dev === lower?.index);
      if (clash) throw NetlinkError.of('EEXIST', op, 'A VXLAN device with the specified VNI already exists');
      const vxlan = { ...params, ...opt('dev', lower?.index) };
      const mtu = spec.mtu ?? (lower ? lower.mtu - VXLAN_HEADROOM : 1500);
      const made = there.add({ name: spec.name, kind: 'vxlan', mtu, mac: this.mac(spec.mac), up: false, vxlan, ...(there === this ? {} : { home: this }) });
      if (there !== this) this.exported.push({ ns: there, index: made.index });
    });
  }

  setLink(name: string, change: LinkChange): Promise<void> {
    return this.mutate('setLink', { name, change }, `set link ${name}`, (op) => {
      const l = this.need(name, op);
      const master = change.master == null ? undefined : this.need(change.master, op);
      validate(op, () => encodeSetLink({
        index: l.index, ...opt('mtu', change.mtu), ...opt('mac', change.mac), ...opt('gsoMaxSize', change.gsoMaxSize),
      }));
      // the attribute policy's minimum (ERANGE), then validate_linkmsg's "too big gso_max_size" (EINVAL)
      if (change.gsoMaxSize !== undefined && change.gsoMaxSize < GSO_MIN_SIZE) throw NetlinkError.of('ERANGE', op);
      if (change.gsoMaxSize !== undefined && change.gsoMaxSize > tsoMaxSize(l)) throw NetlinkError.of('EINVAL', op);
      if (change.mtu !== undefined && (change.mtu < MTU_MIN || change.mtu > MTU_MAX)) throw NetlinkError.of('EINVAL', op);
      if (change.mac !== undefined && !isValidUnicastMac(parseMac(change.mac))) throw NetlinkError.of('EADDRNOTAVAIL', op);
      if (master) {
        if (master.kind !== 'bridge') throw NetlinkError.of('EOPNOTSUPP', op);
        if (l.kind === 'bridge') throw new NetlinkError('EUNKNOWN', ELOOP, op);
        if (l.name === 'lo') throw NetlinkError.of('EINVAL', op);
      }
      // the kernel's order: address, mtu, master, flags
      if (change.mac !== undefined) this.changeMac(l, normalizeMac(change.mac));
      if (change.mtu !== undefined) l.mtu = change.mtu;
      if (change.gsoMaxSize !== undefined) l.gsoMaxSize = change.gsoMaxSize;
      if (change.master === null) this.release(l);
      else if (master) this.enslave(l, master);
      if (change.up === false && l.up) {
        // admin down flushes the link's IPv4 routes and its ARP entries, permanent ones included
        this.routes = this.routes.filter((r) => r.ifindex !== l.index);
        this.neigh = this.neigh.filter((n) => n.ifindex !== l.index);
      }
      if (change.up !== undefined) l.up = change.up;
    });
  }

  setBridgePort(name: string, p: Partial<BridgePortFlags>): Promise<void> {
    return this.mutate('setBridgePort', { name, flags: p }, `set bridge port ${name}`, (op) => {
      const l = this.need(name, op);
      validate(op, () => encodeBridgePort(l.index, p));
      if (!l.bridgePort) throw NetlinkError.of('EOPNOTSUPP', op); // no bridge to hand the flags to
      if (p.learning !== undefined) l.bridgePort.learning = p.learning;
      if (p.isolated !== undefined) l.bridgePort.isolated = p.isolated;
    });
  }

  deleteLink(name: string): Promise<void> {
    return this.mutate('deleteLink', { name }, `delete link ${name}`, (op) => {
      validate(op, () => encodeLinkByName(name));
      this.drop(new Set([this.need(name, op).index]));
    });
  }

  moveLink(name: string, to: NetnsRef): Promise<void> {
    return this.mutate('moveLink', { name, to: to.path }, `move link ${name} to ${to.path}`, (op) => {
      const l = this.need(name, op);
      validate(op, () => encodeSetLink({ index: l.index, netnsFd: to.fd }));
      const there = twinOf(to, op);
      if (there === this) return; // the kernel: already there, nothing to do (even for lo)
      if (l.name === 'lo') throw NetlinkError.of('EINVAL', op); // bound to its namespace
      if (there.byName(l.name)) throw NetlinkError.of('EEXIST', op);
      if (l.kind === 'bridge' && [...this.links.values()].some((p) => p.masterIndex === l.index)) {
        throw new Error(`fake: moving a bridge with ports (${name}) is not modelled`);
      }
      this.release(l);
      this.forgetIndex(l.index);
      this.links.delete(l.index);
      // the kernel keeps the ifindex when it is free there
      const index = there.links.has(l.index) || there.away.has(l.index) ? there.freeIndex() : l.index;
      const moved: FLink = { ...l, index, up: false };
      there.links.set(index, moved);
      if (moved.peer) moved.peer.ns.linkAt(moved.peer.index)!.peer = { ns: there, index };
      // a VXLAN device keeps the namespace of its socket wherever it goes
      const home = l.vxlan ? l.home ?? this : undefined;
      if (home === there) delete moved.home;
      else if (home) moved.home = home;
      if (home) {
        home.exported.splice(0, home.exported.length, ...home.exported.filter((e) => !(e.ns === this && e.index === l.index)));
        if (home !== there) home.exported.push({ ns: there, index });
      }
    });
  }

  async listAddresses(dev?: string): Promise<AddressInfo[]> {
    const index = dev === undefined ? undefined : this.need(dev, `list addresses of ${dev}`).index;
    return this.addrs.filter((a) => index === undefined || a.ifindex === index).map((a) => ({ ...a }));
  }

  addAddress(dev: string, cidr: string): Promise<void> {
    return this.mutate('addAddress', { dev, cidr }, `add address ${cidr} to ${dev}`, (op) => {
      const l = this.need(dev, op);
      validate(op, () => encodeAddress(l.index, cidr));
      const c = formatCidr4(parseCidr4(cidr).bytes, parseCidr4(cidr).prefix);
      if (this.addrs.some((a) => a.ifindex === l.index && a.cidr === c)) throw NetlinkError.of('EEXIST', op);
      this.addrs.push({ ifindex: l.index, cidr: c });
    });
  }

  deleteAddress(dev: string, cidr: string): Promise<void> {
    return this.mutate('deleteAddress', { dev, cidr }, `delete address ${cidr} from ${dev}`, (op) => {
      const l = this.need(dev, op);
      validate(op, () => encodeAddress(l.index, cidr));
      const c = parseCidr4(cidr);
      const i = this.addrs.findIndex((a) => a.ifindex === l.index && a.cidr === formatCidr4(c.bytes, c.prefix));
      if (i < 0) throw NetlinkError.of('EADDRNOTAVAIL', op);
      this.addrs.splice(i, 1);
    });
  }

  /** explicit routes plus the kernel's connected route for every address on an up link */
  async listRoutes(): Promise<RouteInfo[]> {
    return [...this.connected(), ...this.routes].map(({ priority, ...r }) => ({ ...r, table: RT_TABLE_MAIN, ...(priority ? { priority } : {}) }));
  }

  addRoute(route: RouteSpec): Promise<void> {
    return this.mutate('addRoute', route, routeOp('add', route), (op) => {
      const r = this.newRoute(op, route);
      // NLM_F_EXCL: a route to the same prefix and metric clashes, whatever its nexthop, type or protocol
      if ([...this.connected(), ...this.routes].some((x) => x.dst === r.dst && x.priority === r.priority)) throw NetlinkError.of('EEXIST', op);
      this.routes.push(r);
    });
  }

  replaceRoute(route: RouteSpec): Promise<void> {
    return this.mutate('replaceRoute', route, routeOp('replace', route), (op) => {
      const r = this.newRoute(op, route);
      // NLM_F_REPLACE: the new route takes the place of the one to the prefix with the same metric (and tos, never set here)
      const i = this.routes.findIndex((x) => x.dst === r.dst && x.priority === r.priority);
      if (i >= 0) this.routes[i] = r;
      else if (this.connected().some((x) => x.dst === r.dst && x.priority === r.priority)) throw new Error(`fake: replacing the connected route ${r.dst} is not modelled`);
      else this.routes.push(r);
    });
  }

  deleteRoute(route: RouteSpec): Promise<void> {
    return this.mutate('deleteRoute', route, routeOp('delete', route), (op) => {
      const dev = route.dev === undefined ? undefined : this.need(route.dev, op);
      validate(op, () => encodeRoute('del', routeRequest(route, dev?.index)));
      // like fib_table_delete: gateway, device, type and metric narrow the match only when given; any protocol
      // matches; of several, the lowest metric goes
      const match = this.routes.filter((r) => r.dst === route.dst
        && (route.gateway === undefined || r.gateway === route.gateway) && (!dev || r.ifindex === dev.index)
        && (route.type === undefined || r.type === route.type) && (!route.priority || r.priority === route.priority));
      if (match.length === 0) throw NetlinkError.of('ESRCH', op);
      const lowest = match.reduce((a, b) => (b.priority < a.priority ? b : a));
      this.routes.splice(this.routes.indexOf(lowest), 1);
    });
  }

  async listNeighbours(dev?: string): Promise<NeighbourInfo[]> {
    const index = dev === undefined ? undefined : this.need(dev, `list neighbours of ${dev}`).index;
    return this.neigh.filter((n) => index === undefined || n.ifindex === index)
      .map((n) => ({ ifindex: n.ifindex, ip: n.ip, mac: n.mac, state: NUD_PERMANENT }));
  }

  setNeighbour(n: NeighbourSpec): Promise<void> {
    return this.mutate('setNeighbour', n, `set neighbour ${n.ip} on ${n.dev}`, (op) => {
      const l = this.need(n.dev, op);
      validate(op, () => encodeNeighbour(l.index, n.ip, n.mac));
      const ip = formatIpv4(parseIpv4(n.ip));
      this.neigh = this.neigh.filter((e) => !(e.ifindex === l.index && e.ip === ip));
      this.neigh.push({ ifindex: l.index, ip, mac: normalizeMac(n.mac) });
    });
  }

  deleteNeighbour(n: { dev: string; ip: string }): Promise<void> {
    return this.mutate('deleteNeighbour', n, `delete neighbour ${n.ip} on ${n.dev}`, (op) => {
      const l = this.need(n.dev, op);
      validate(op, () => encodeNeighbour(l.index, n.ip));
      const i = this.neigh.findIndex((e) => e.ifindex === l.index && e.ip === n.ip);
      if (i < 0) throw NetlinkError.of('ENOENT', op);
      this.neigh.splice(i, 1);
    });
  }

  /** per device in ifindex order: the bridge's entries for it, then its own (as the kernel's dump) */
  async listFdb(dev?: string): Promise<FdbInfo[]> {
    const index = dev === undefined ? undefined : this.need(dev, `list fdb of ${dev}`).index;
    const out: FdbInfo[] = [];
    for (const l of [...this.links.values()].sort((a, b) => a.index - b.index)) {
      if (index !== undefined && l.index !== index) continue;
      for (const e of this.brFdb) {
        if (e.port === l.index) out.push({ ifindex: l.index, mac: e.mac, state: e.state, self: false, master: e.bridge });
      }
      for (const [key, dsts] of this.fdb) {
        const [i, mac] = key.split(' ') as [string, string];
        if (Number(i) === l.index) for (const dst of dsts) out.push({ ifindex: l.index, mac, state: NUD_PERMANENT, self: true, dst });
      }
    }
    return out;
  }

  addFdb(f: FdbSpec): Promise<void> {
    return this.mutate('addFdb', f, fdbOp('add', f), (op) => {
      const { dst } = fdbTarget(op, f, true);
      const l = this.selfFdbDevice(op, f.dev, () => encodeFdb(0, f.mac, dst));
      const mac = normalizeMac(f.mac);
      const key = `${l.index} ${mac}`;
      const dsts = this.fdb.get(key);
      if (!dsts) this.fdb.set(key, [dst]);
      // the kernel's vxlan appends remotes only for all-zero/multicast MACs; a unicast MAC keeps its first dst
      else if (!isValidUnicastMac(parseMac(mac)) && !dsts.includes(dst)) dsts.push(dst);
    });
  }

  setFdb(f: FdbSpec): Promise<void> {
    return this.mutate('setFdb', f, fdbOp('set', f), (op) => {
      const t = fdbTarget(op, f);
      if (t.self) {
        const l = this.selfFdbDevice(op, f.dev, () => encodeFdb(0, f.mac, t.dst));
        const mac = normalizeMac(f.mac);
        // vxlan refuses NLM_F_REPLACE for the flood list and multicast MACs, whether or not they exist
        if (!isValidUnicastMac(parseMac(mac))) throw NetlinkError.of('EOPNOTSUPP', op, 'Cannot replace non-unicast fdb entries');
        this.fdb.set(`${l.index} ${mac}`, [t.dst]); // a unicast MAC has exactly one remote, replaced in place
        return;
      }
      const { port, bridge } = this.bridgePortFor(op, f);
      const mac = normalizeMac(f.mac);
      if (mac === ZERO_MAC) throw NetlinkError.of('EINVAL', op);
      // one entry per MAC per bridge: an existing one (on any port, local ones included) moves here and turns static
      const e = this.brFdb.find((x) => x.bridge === bridge && x.mac === mac);
      if (e) Object.assign(e, { port: port.index, state: NUD_NOARP });
      else this.brFdb.unshift({ bridge, mac, port: port.index, state: NUD_NOARP });
    });
  }

  deleteFdb(f: FdbSpec): Promise<void> {
    return this.mutate('deleteFdb', f, fdbOp('delete', f), (op) => {
      const t = fdbTarget(op, f);
      if (t.self) {
        const l = this.need(f.dev, op);
        validate(op, () => encodeFdb(l.index, f.mac, t.dst));
        const key = `${l.index} ${normalizeMac(f.mac)}`;
        const dsts = this.fdb.get(key);
        if (!dsts) throw NetlinkError.of('ENOENT', op);
        // like vxlan: an unknown dst on a known MAC is silently ignored; the last dst takes the entry with it
        const rest = dsts.filter((d) => d !== t.dst);
        if (rest.length === 0) this.fdb.delete(key);
        else this.fdb.set(key, rest);
        return;
      }
      const { port, bridge } = this.bridgePortFor(op, f);
      const mac = normalizeMac(f.mac);
      const i = this.brFdb.findIndex((e) => e.bridge === bridge && e.mac === mac && e.port === port.index);
      if (i < 0) throw NetlinkError.of('ENOENT', op); // absent, or on another port
      this.brFdb.splice(i, 1);
    });
  }

  async close(): Promise<void> {}

  // ---- helpers

  private async mutate(method: string, args: unknown, op: string, fn: (op: string) => void): Promise<void> {
    const call: FakeCall = { op: method, args: structuredClone(args) };
    this.calls.push(call);
    const hold = this.holds.findIndex((h) => h.op === method);
    if (hold >= 0) await this.holds.splice(hold, 1)[0]!.gate;
    try {
      const fault = this.faults.findIndex((f) => f.op === method);
      if (fault >= 0) throw NetlinkError.of(this.faults.splice(fault, 1)[0]!.code, op, 'injected by FakeNetlink.failNext');
      fn(op);
    } catch (e) {
      if (e instanceof NetlinkError) call.error = e.code;
      throw e;
    }
  }

  private add(l: Omit<FLink, 'index'>): FLink {
    const link: FLink = { gsoMaxSize: GSO_LEGACY_MAX_SIZE, ...l, index: this.freeIndex() };
    this.links.set(link.index, link);
    return link;
  }

  /** the next ifindex no link here has (one moved in may hold an index this twin has not reached yet) */
  private freeIndex(): number {
    while (this.links.has(this.nextIndex) || this.away.has(this.nextIndex)) this.nextIndex++;
    return this.nextIndex++;
  }

  /** a link here or moved away (a container's), by index */
  private linkAt(index: number): FLink | undefined {
    return this.links.get(index) ?? this.away.get(index);
  }

  /** the VXLAN devices whose socket is this namespace's: its own and those it made elsewhere */
  private vxlansOfSocket(): FLink[] {
    const mine = [...this.links.values()].filter((l) => l.home === undefined);
    const made = this.exported.map((e) => e.ns.links.get(e.index)).filter((l): l is FLink => l?.home === this);
    return [...mine, ...made];
  }

  /**
   * Unregisters links: a veth's peer goes too (wherever it is), and a VXLAN device (here or made elsewhere
   * by this namespace) with its lower device; a port leaving (its bridge or itself deleted) takes its
   * bridge entries and flags along.
   */
  private drop(gone: Set<number>): void {
    const elsewhere: { ns: FakeNetlink; index: number }[] = [];
    for (const i of gone) {
      const peer = this.linkAt(i)?.peer;
      if (peer?.ns === this) gone.add(peer.index);
      else if (peer) elsewhere.push(peer);
    }
    for (const v of this.links.values()) if (v.home === undefined && v.vxlan?.dev !== undefined && gone.has(v.vxlan.dev)) gone.add(v.index);
    for (const e of this.exported.splice(0)) {
      const v = e.ns.links.get(e.index);
      if (v?.home !== this) continue; // gone or replaced meanwhile
      if (v.vxlan?.dev !== undefined && gone.has(v.vxlan.dev)) elsewhere.push(e);
      else this.exported.push(e);
    }
    for (const p of this.links.values()) {
      if (gone.has(p.index) || (p.masterIndex !== undefined && gone.has(p.masterIndex))) this.release(p);
    }
    for (const i of gone) {
      this.links.delete(i);
      this.away.delete(i); // a veth's peer in a container's namespace goes too
      this.forgetIndex(i);
    }
    for (const e of elsewhere) if (e.ns.linkAt(e.index)) e.ns.drop(new Set([e.index]));
  }

  /** what this namespace holds for a link that leaves it: bridge entries, addresses, routes, neighbours, its own FDB */
  private forgetIndex(i: number): void {
    this.brFdb = this.brFdb.filter((e) => e.bridge !== i && e.port !== i);
    this.addrs = this.addrs.filter((a) => a.ifindex !== i);
    this.routes = this.routes.filter((r) => r.ifindex !== i);
    this.neigh = this.neigh.filter((n) => n.ifindex !== i);
    for (const k of [...this.fdb.keys()]) if (Number(k.split(' ')[0]) === i) this.fdb.delete(k);
  }

  private byName(name: string): FLink | undefined {
    for (const l of this.links.values()) if (l.name === name) return l;
    return undefined;
  }

  private need(name: string, op: string): FLink {
    const l = this.byName(name);
    if (!l) throw NetlinkError.of('ENODEV', op, `No such device: ${name}`);
    return l;
  }

  /** the device for an NTF_SELF entry: encodable, and (stricter than the kernel) a vxlan */
  private selfFdbDevice(op: string, dev: string, encode: () => unknown): FLink {
    const l = this.need(dev, op);
    validate(op, encode);
    // the kernel also takes NTF_SELF entries on bridges and plain devices (their address lists)
    if (l.kind !== 'vxlan') throw NetlinkError.of('EOPNOTSUPP', op, 'fake: FDB entries only on vxlan devices');
    return l;
  }

  /** the port and its bridge for an NTF_MASTER request; EOPNOTSUPP, like the kernel, when dev is no bridge port */
  private bridgePortFor(op: string, f: FdbSpec): { port: FLink; bridge: number } {
    const port = this.need(f.dev, op);
    validate(op, () => encodeBridgeFdb(port.index, f.mac));
    if (port.masterIndex === undefined) throw NetlinkError.of('EOPNOTSUPP', op);
    return { port, bridge: port.masterIndex };
  }

  /** joins a bridge: default port flags, and a local (permanent) entry for the port's address */
  private enslave(l: FLink, br: FLink): void {
    if (l.masterIndex === br.index) return; // the same master again changes nothing
    this.release(l);
    l.masterIndex = br.index;
    l.bridgePort = { learning: true, isolated: false };
    this.addLocal(br.index, l.index, l.mac);
  }

  /** leaves its bridge, if any: every bridge entry on the port goes, static ones included */
  private release(l: FLink): void {
    const br = l.masterIndex;
    if (br === undefined) return;
    for (const e of this.brFdb.filter((x) => x.bridge === br && x.port === l.index)) this.dropEntry(e, l);
    delete l.masterIndex;
    delete l.bridgePort;
  }

  /** a new address: a port's local entry follows it; a bridge's own entry is (re)made for it */
  private changeMac(l: FLink, mac: string): void {
    const br = l.kind === 'bridge' ? l.index : l.masterIndex;
    if (br !== undefined) {
      const old = this.brFdb.find((e) => e.bridge === br && e.port === l.index && e.mac === l.mac && e.state === NUD_PERMANENT);
      if (old) this.dropEntry(old, l);
      this.addLocal(br, l.index, mac);
    }
    l.mac = mac;
  }

  /** fdb_add_local: an existing local entry for the address wins; anything else for it is replaced */
  private addLocal(bridge: number, port: number, mac: string): void {
    const e = this.brFdb.find((x) => x.bridge === bridge && x.mac === mac);
    if (e?.state === NUD_PERMANENT) return;
    if (e) this.brFdb.splice(this.brFdb.indexOf(e), 1);
    this.brFdb.unshift({ bridge, mac, port, state: NUD_PERMANENT });
  }

  /** removes an entry of `from`; a local one passes to another holder of the address (a port, else the bridge) */
  private dropEntry(e: FBridgeEntry, from: FLink): void {
    const bridge = this.links.get(e.bridge);
    const holders = [...[...this.links.values()].filter((p) => p.masterIndex === e.bridge), ...(bridge ? [bridge] : [])];
    const heir = e.state === NUD_PERMANENT ? holders.find((p) => p !== from && p.mac === e.mac) : undefined;
    if (heir) e.port = heir.index;
    else this.brFdb.splice(this.brFdb.indexOf(e), 1);
  }

  /** the kernel's checks for a new link, in its order: encodable, name free, MTU, MAC */
  private checkNew(op: string, req: NewLinkRequest): void {
    validate(op, () => encodeNewLink(req));
    if (this.byName(req.name)) throw NetlinkError.of('EEXIST', op);
    if (req.mtu !== undefined && (req.mtu < MTU_MIN || req.mtu > MTU_MAX)) throw NetlinkError.of('EINVAL', op);
    if (req.mac !== undefined && !isValidUnicastMac(parseMac(req.mac))) throw NetlinkError.of('EADDRNOTAVAIL', op);
  }

  /** the given MAC, or a locally administered one like the kernel's random addresses */
  private mac(given: string | undefined): string {
    if (given !== undefined) return normalizeMac(given);
    const n = ++this.macCounter;
    return normalizeMac(`02:fa:00:${hex(n >> 16)}:${hex(n >> 8)}:${hex(n)}`);
  }

  /**
   * The route a RouteSpec makes (add or replace), checked as fib_create_info does: an unreachable one takes no
   * nexthop; a unicast one needs its device up and its gateway on a connected subnet.
   */
  private newRoute(op: string, route: RouteSpec): FRoute {
    const dev = route.dev === undefined ? undefined : this.need(route.dev, op);
    validate(op, () => encodeRoute('add', routeRequest(route, dev?.index)));
    const protocol = route.protocol ?? RTPROT_BOOT;
    const priority = route.priority ?? 0;
    if (route.type === 'unreachable') return { dst: route.dst, protocol, type: 'unreachable', priority };
    if (dev && !dev.up) throw new NetlinkError('EUNKNOWN', ENETDOWN, op);
    let ifindex = dev?.index;
    if (route.gateway !== undefined) {
      const gw = parseIpv4(route.gateway);
      const via = this.connected().find((c) => (!dev || c.ifindex === dev.index) && inSubnet(gw, parseCidr4(c.dst).bytes, parseCidr4(c.dst).prefix));
      if (!via) throw new NetlinkError('EUNKNOWN', ENETUNREACH, op, 'Nexthop has invalid gateway');
      ifindex = via.ifindex;
    }
    if (ifindex === undefined) throw NetlinkError.of('ENODEV', op);
    return { dst: route.dst, ifindex, protocol, type: 'unicast', priority, ...opt('gateway', route.gateway) };
  }

  /** the kernel's own prefix routes (proto kernel) of the addresses on up links */
  private connected(): FRoute[] {
    return this.addrs.flatMap((a) => {
      const c = parseCidr4(a.cidr);
      if (c.prefix === 32 || !this.links.get(a.ifindex)?.up) return [];
      return [{ dst: formatCidr4(networkOf(c.bytes, c.prefix), c.prefix), ifindex: a.ifindex, protocol: RTPROT_KERNEL, type: 'unicast' as const, priority: 0 }];
    });
  }
}

function view(l: FLink): LinkInfo {
  const { peer: _peer, home: _home, ...info } = l;
  return structuredClone(info);
}

/**
 * The most gso_max_size may be raised to (the kernel's tso_max_size). Simplified: a bridge's really follows
 * its ports' once it has had any (a bridge that had a veth port takes 512 KiB).
 */
function tsoMaxSize(l: FLink): number {
  return l.kind === 'veth' || l.name === 'lo' ? GSO_MAX_SIZE : GSO_LEGACY_MAX_SIZE;
}

/** the twin a ref names; EBADF, as the kernel says for a descriptor that is no namespace */
function twinOf(ref: NetnsRef, op: string): FakeNetlink {
  const twin = twinByFd.get(ref.fd);
  if (!twin) throw NetlinkError.of('EBADF', op);
  return twin;
}

function validate(op: string, encode: () => unknown): void {
  try {
    encode();
  } catch (e) {
    if (e instanceof EncodeError) throw new NetlinkError('EINVAL', 22, op, e.message);
    throw e;
  }
}

const hex = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');
