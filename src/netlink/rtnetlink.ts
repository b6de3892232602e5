/** The real Netlink: rtnetlink requests over one NETLINK_ROUTE socket (see ./socket.ts). */
import {
  AF_BRIDGE, AF_INET, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NTF_SELF, RT_TABLE_MAIN,
  RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELROUTE, RTM_GETADDR, RTM_GETLINK, RTM_GETNEIGH, RTM_GETROUTE,
  RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE, RTM_SETLINK,
} from './codec/constants';
import { DecodeError } from './codec/errors';
import { decodeAddress, encodeAddress, encodeAddressDump } from './codec/address';
import {
  decodeLink, encodeBridgePort, encodeLinkByName, encodeLinkDump, encodeNewLink, encodeSetLink, type NewLinkRequest,
} from './codec/link';
import { decodeNeighbour, encodeBridgeFdb, encodeFdb, encodeNeighDump, encodeNeighbour } from './codec/neighbour';
import { decodeRoute, encodeRoute, encodeRouteDump, routeType } from './codec/route';
import { asNetlinkError, NetlinkError } from './errors';
import { NsRtnlSocket } from './nsSocket';
import { RtnlSocket, type ReplyMessage, type RtnlTransport } from './socket';
import { fdbOp, fdbTarget, opt, routeOp, routeRequest } from './util';
import type {
  AddressInfo, BridgePortFlags, BridgeSpec, FdbInfo, FdbSpec, LinkChange, LinkInfo, Netlink, NeighbourInfo,
  NeighbourSpec, NetnsRef, RouteInfo, RouteSpec, VethSpec, VxlanSpec,
} from './types';

export class RtNetlink implements Netlink {
  constructor(private readonly sock: RtnlTransport = new RtnlSocket()) {}

  /** Opens the socket up front so a missing CAP_NET_ADMIN/netlink failure surfaces at startup. */
  static async open(opts: { timeoutMs?: number } = {}): Promise<RtNetlink> {
    const sock = new RtnlSocket(opts.timeoutMs);
    await run('open netlink socket', () => sock.open());
    return new RtNetlink(sock);
  }

  /**
   * The same, inside the namespace `ns`: its socket is made there (and holds the namespace while open).
   * Keep `ns` open while this is in use: a request after close() makes the socket again through ns.fd.
   */
  static async openIn(ns: NetnsRef, opts: { timeoutMs?: number } = {}): Promise<RtNetlink> {
    const sock = new NsRtnlSocket(ns, opts.timeoutMs);
    await run(`open netlink socket in ${ns.path}`, () => sock.open());
    return new RtNetlink(sock);
  }

  // ---- links

  listLinks(): Promise<LinkInfo[]> {
    return run('list links', async () =>
      pick(await this.sock.dump('list links', RTM_GETLINK, encodeLinkDump()), RTM_NEWLINK).map(decodeLink));
  }

  getLink(name: string): Promise<LinkInfo | undefined> {
    return run(`get link ${name}`, () => this.lookup(name, `get link ${name}`));
  }

  createBridge(spec: BridgeSpec): Promise<void> {
    return this.create(`create bridge ${spec.name}`, { ...spec, info: { kind: 'bridge' } });
  }

  createVeth(spec: VethSpec): Promise<void> {
    const op = `create veth ${spec.name} peer ${spec.peerName}`;
    const peer = { name: spec.peerName, ...opt('mtu', spec.mtu), ...opt('mac', spec.peerMac), ...opt('netnsFd', spec.peerNetns?.fd) };
    return run(op, async () => {
      const master = spec.master === undefined ? undefined : await this.ifindex(spec.master, op);
      await this.sendCreate(op, {
        name: spec.name, ...opt('mtu', spec.mtu), ...opt('mac', spec.mac), ...opt('master', master), ...opt('up', spec.up), info: { kind: 'veth', peer },
      });
    });
  }

  createVxlan(spec: VxlanSpec): Promise<void> {
    const op = `create vxlan ${spec.name}`;
    return run(op, async () => {
      const link = spec.dev === undefined ? undefined : await this.ifindex(spec.dev, op);
      await this.sendCreate(op, {
        name: spec.name, ...opt('mtu', spec.mtu), ...opt('mac', spec.mac), ...opt('netnsFd', spec.netns?.fd),
        info: {
          kind: 'vxlan', vni: spec.vni, port: spec.port, learning: spec.learning,
          ...opt('proxy', spec.proxy), ...opt('local', spec.local), ...opt('link', link),
        },
      });
    });
  }

  setLink(name: string, change: LinkChange): Promise<void> {
    const op = `set link ${name}`;
    return run(op, async () => {
      const index = await this.ifindex(name, op);
      const master = change.master === undefined ? undefined
        : change.master === null ? 0 : await this.ifindex(change.master, op);
      const payload = encodeSetLink({
        index, ...opt('up', change.up), ...opt('mtu', change.mtu), ...opt('mac', change.mac), ...opt('master', master),
        ...opt('gsoMaxSize', change.gsoMaxSize),
      });
      await this.sock.request(op, RTM_SETLINK, 0, payload);
    });
  }

  setBridgePort(name: string, p: Partial<BridgePortFlags>): Promise<void> {
    const op = `set bridge port ${name}`;
    return run(op, async () => {
      await this.sock.request(op, RTM_SETLINK, 0, encodeBridgePort(await this.ifindex(name, op), p));
    });
  }

  moveLink(name: string, to: NetnsRef): Promise<void> {
    const op = `move link ${name} to ${to.path}`;
    return run(op, async () => {
      await this.sock.request(op, RTM_SETLINK, 0, encodeSetLink({ index: await this.ifindex(name, op), netnsFd: to.fd }));
    });
  }

  deleteLink(name: string): Promise<void> {
    const op = `delete link ${name}`;
    // RTM_DELLINK accepts IFLA_IFNAME, and answers ENODEV itself: one round trip
    return run(op, async () => { await this.sock.request(op, RTM_DELLINK, 0, encodeLinkByName(name)); });
  }

  // ---- addresses

  listAddresses(dev?: string): Promise<AddressInfo[]> {
    const op = dev === undefined ? 'list addresses' : `list addresses of ${dev}`;
    return run(op, async () => {
      const index = dev === undefined ? undefined : await this.ifindex(dev, op);
      const all = pick(await this.sock.dump(op, RTM_GETADDR, encodeAddressDump()), RTM_NEWADDR).map(decodeAddress);
      return all.filter((a): a is AddressInfo => a !== undefined && (index === undefined || a.ifindex === index));
    });
  }

  addAddress(dev: string, cidr: string): Promise<void> {
    const op = `add address ${cidr} to ${dev}`;
    return run(op, async () => {
      const payload = encodeAddress(await this.ifindex(dev, op), cidr);
      await this.sock.request(op, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, payload);
    });
  }

  deleteAddress(dev: string, cidr: string): Promise<void> {
    const op = `delete address ${cidr} from ${dev}`;
    return run(op, async () => {
      await this.sock.request(op, RTM_DELADDR, 0, encodeAddress(await this.ifindex(dev, op), cidr));
    });
  }

  // ---- routes

  /** IPv4 unicast and unreachable routes of the main table (what `ip route` shows, less broadcast and the like) */
  listRoutes(): Promise<RouteInfo[]> {
    return run('list routes', async () => {
      const out: RouteInfo[] = [];
      for (const m of pick(await this.sock.dump('list routes', RTM_GETROUTE, encodeRouteDump()), RTM_NEWROUTE)) {
        const r = decodeRoute(m);
        if (!r || r.table !== RT_TABLE_MAIN) continue;
        const type = routeType(r.type);
        if (type === 'other') continue;
        out.push({
          dst: r.dst, table: r.table, protocol: r.protocol, type, ...opt('gateway', r.gateway), ...opt('ifindex', r.ifindex),
          ...opt('priority', r.priority),
        });
      }
      return out;
    });
  }

  addRoute(route: RouteSpec): Promise<void> {
    return this.route('add', route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  }

  /** REPLACE overwrites the first route to dst of the same tos and metric: weft sets neither, so the route to dst */
  replaceRoute(route: RouteSpec): Promise<void> {
    return this.route('replace', route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
  }

  deleteRoute(route: RouteSpec): Promise<void> {
    return this.route('delete', route, RTM_DELROUTE, 0);
  }

  // ---- neighbours

  listNeighbours(dev?: string): Promise<NeighbourInfo[]> {
    const op = dev === undefined ? 'list neighbours' : `list neighbours of ${dev}`;
    return run(op, async () => {
      const index = dev === undefined ? undefined : await this.ifindex(dev, op);
      const out: NeighbourInfo[] = [];
      for (const m of pick(await this.sock.dump(op, RTM_GETNEIGH, encodeNeighDump(AF_INET)), RTM_NEWNEIGH)) {
        const n = decodeNeighbour(m);
        if (n.family !== AF_INET || n.dst === undefined || (index !== undefined && n.ifindex !== index)) continue;
        out.push({ ifindex: n.ifindex, ip: n.dst, state: n.state, ...opt('mac', n.lladdr) });
      }
      return out;
    });
  }

  setNeighbour(n: NeighbourSpec): Promise<void> {
    const op = `set neighbour ${n.ip} on ${n.dev}`;
    return run(op, async () => {
      const payload = encodeNeighbour(await this.ifindex(n.dev, op), n.ip, n.mac);
      await this.sock.request(op, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, payload);
    });
  }

  deleteNeighbour(n: { dev: string; ip: string }): Promise<void> {
    const op = `delete neighbour ${n.ip} on ${n.dev}`;
    return run(op, async () => {
      await this.sock.request(op, RTM_DELNEIGH, 0, encodeNeighbour(await this.ifindex(n.dev, op), n.ip));
    });
  }

  // ---- bridge forwarding database

  listFdb(dev?: string): Promise<FdbInfo[]> {
    const op = dev === undefined ? 'list fdb' : `list fdb of ${dev}`;
    return run(op, async () => {
      const index = dev === undefined ? undefined : await this.ifindex(dev, op);
      const out: FdbInfo[] = [];
      for (const m of pick(await this.sock.dump(op, RTM_GETNEIGH, encodeNeighDump(AF_BRIDGE)), RTM_NEWNEIGH)) {
        const n = decodeNeighbour(m);
        if (n.family !== AF_BRIDGE || n.lladdr === undefined || (index !== undefined && n.ifindex !== index)) continue;
        // a bridge port's dump holds both the bridge's entries for it (NDA_MASTER) and its own (NTF_SELF)
        out.push({
          ifindex: n.ifindex, mac: n.lladdr, state: n.state, self: (n.flags & NTF_SELF) !== 0,
          ...opt('dst', n.dst), ...opt('master', n.master),
        });
      }
      return out;
    });
  }

  addFdb(f: FdbSpec): Promise<void> {
    return this.fdb('add', f, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND);
  }

  /** REPLACE moves a unicast MAC's vxlan dst in place (checked on 6.18), and a bridge entry to another port */
  setFdb(f: FdbSpec): Promise<void> {
    return this.fdb('set', f, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  }

  deleteFdb(f: FdbSpec): Promise<void> {
    return this.fdb('delete', f, RTM_DELNEIGH, 0);
  }

  close(): Promise<void> {
    return this.sock.close();
  }

  // ---- helpers

  private create(op: string, req: NewLinkRequest): Promise<void> {
    return run(op, () => this.sendCreate(op, req));
  }

  private async sendCreate(op: string, req: NewLinkRequest): Promise<void> {
    await this.sock.request(op, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeNewLink(req));
  }

  private fdb(verb: 'add' | 'set' | 'delete', f: FdbSpec, type: number, flags: number): Promise<void> {
    const op = fdbOp(verb, f);
    return run(op, async () => {
      const target = fdbTarget(op, f, verb === 'add');
      const index = await this.ifindex(f.dev, op);
      const payload = target.self ? encodeFdb(index, f.mac, target.dst) : encodeBridgeFdb(index, f.mac);
      await this.sock.request(op, type, flags, payload);
    });
  }

  private route(verb: 'add' | 'replace' | 'delete', r: RouteSpec, type: number, flags: number): Promise<void> {
    const op = routeOp(verb, r);
    return run(op, async () => {
      const oif = r.dev === undefined ? undefined : await this.ifindex(r.dev, op);
      const payload = encodeRoute(verb === 'delete' ? 'del' : 'add', routeRequest(r, oif));
      await this.sock.request(op, type, flags, payload);
    });
  }

  private async lookup(name: string, op: string): Promise<LinkInfo | undefined> {
    try {
      const [reply] = pick(await this.sock.request(op, RTM_GETLINK, 0, encodeLinkByName(name)), RTM_NEWLINK);
      if (!reply) throw new DecodeError(`no RTM_NEWLINK in the reply for ${name}`);
      return decodeLink(reply);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  /** name -> ifindex, ENODEV (naming the device) when absent */
  private async ifindex(name: string, op: string): Promise<number> {
    const link = await this.lookup(name, op);
    if (!link) throw NetlinkError.of('ENODEV', op, `No such device: ${name}`);
    return link.index;
  }
}

function pick(msgs: ReplyMessage[], type: number): Buffer[] {
  return msgs.filter((m) => m.type === type).map((m) => m.payload);
}

/** Codec failures become NetlinkError too, so callers only ever see one error type. */
async function run<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asNetlinkError(op, e);
  }
}
