/**
 * The data plane on one host: for every local network a VXLAN port (fast path)
 * and a TAP port (sleeve) on its bridge, kept in line with the cluster's
 * endpoint table and the path to each peer. Paths are re-checked every tick:
 * fast-path probes out, the topology (whom we hear directly) gossiped, and a
 * change of either, or of the endpoint table, re-plans every network at once.
 * A routed network has no ports: its plan is a route per container on a peer
 * (./routedPlane.ts).
 */
import type { Logger } from 'pino';
import { parseCidr, parseIp } from '../addr/cidr';
import { MAX_FRAME, MAX_PAYLOAD_SEALED } from '../mesh/envelope';
import { MessageType } from '../mesh/messageTypes';
import type { PeerInfo } from '../mesh/membership';
import type { PeerId } from '../mesh/peerId';
import type { Segment, SegmentChannel } from '../mesh/gossip/segments';
import type { DropCounter } from '../mesh/stats';
import type { Bytes } from '../mesh/transport/bytes';
import type { Transport } from '../mesh/transport/types';
import { ensureAddress, ensureVxlan, removeLink } from '../netlink/ensure';
import type { LinkChange } from '../netlink/types';
import type { ClusterEndpoint } from '../network/endpointTable';
import { isRouted, type NetworkRecord } from '../network/model';
import { type Namespaces, separate } from '../network/namespaces';
import { PROBE_DEVICE, tapName, vxlanName } from '../network/names';
import type { Scheduler, TimerHandle } from '../util/scheduler';
import { macKeyOf } from './frames/mac';
import { SLEEVE_HEADER_BYTES } from './frames/sleeve';
import { vniForSubnet } from './frames/vni';
import { PROBE_DEVICE_MAC_TEXT, PROBE_LOCAL_CIDR_TEXT, PROBE_VNI } from './frames/vxlanProbe';
import { applyPlan } from './kernelPlane';
import { computePaths, nextHop, samePaths } from './paths';
import { type NetworkPlan, type OverlayNetwork, type Path, planNetwork, planRoutes } from './plan';
import { FastdpProber } from './prober';
import type { RedirectStatus, Redirects } from './redirect/redirects';
import { applyRoutes } from './routedPlane';
import { type PeerTraffic, Sleeve } from './sleeve';
import { TAP_GSO_MAX_SIZE, type TapDevice } from './tap/tap';

/** what the data plane needs of the mesh */
export interface MeshPort {
  /** payload may be parts, sent without being copied together first (the sleeve's datagrams) */
  send(to: PeerId, type: number, payload: Bytes): void;
  sendRaw(addr: string, data: Buffer): void;
  on(type: number, fn: (sender: PeerId, payload: Buffer) => void): void;
  addrOf(id: PeerId): string | undefined;
  alivePeers(): PeerId[];
  readonly peersChannel: { all(): Segment<PeerInfo>[]; get(id: PeerId): Segment<PeerInfo> | undefined };
}

export interface DataPlaneDeps {
  self: PeerId;
  /** the probe device and the VXLAN devices' sockets in the host's namespace; the ports in the bridges' */
  ns: Namespaces;
  clock: Scheduler;
  log: Logger;
  /** the kernel fast path on this host; false with --no-fastdp or a password */
  fastdp: boolean;
  vxlanPort: number;
  mesh: MeshPort;
  /** whom each peer hears directly */
  topology: SegmentChannel<PeerId[]>;
  endpoints(): ClusterEndpoint[];
  /** peers whose Docker has a weft network with this subnet */
  hostsWithSubnet(subnet: string): ReadonlySet<PeerId>;
  openTap(name: string): TapDevice;
  /** opens the socket fast-path probes arrive on, once the probe device has its address */
  openProbeSocket(): Promise<Transport>;
  drops: DropCounter;
  /** probes, topology and path checks */
  tickMs: number;
  /** most bytes of frames per sleeve datagram */
  sleeveBudget: number;
  /** when the sleeve sends datagrams that still have room (SleeveOptions.defer); the daemon: setImmediate */
  sleeveDefer?: (flush: () => void) => void;
  /** routed networks' eBPF redirects (./redirect/redirects.ts); undefined: off (--no-bpf), with the reason */
  redirects?: Redirects;
  redirectsOff?: string;
}

/** what a sealed mesh frame leaves for packed frames after the sleeve header (64934 bytes) */
export const SLEEVE_BUDGET = MAX_PAYLOAD_SEALED - SLEEVE_HEADER_BYTES;

/**
 * The budget for a transport that carries at most `frameLimit` bytes in one
 * send: a sleeve datagram that fits one GSO send comes back in one read and
 * skips reassembly (45 chunks of a 1472-byte segment would take two sends).
 */
export function sleeveBudgetFor(frameLimit: number): number {
  return Math.min(SLEEVE_BUDGET, frameLimit - (MAX_FRAME - MAX_PAYLOAD_SEALED) - SLEEVE_HEADER_BYTES);
}

/**
 * Every pass reads the kernel and changes only the difference, so a pass now
 * and then puts back what someone else removed (a `bridge fdb del`, a flushed
 * neighbour table) even when nothing in the cluster changed.
 */
export const RESYNC_MS = 30_000;

export class DataPlane {
  private readonly nets = new Map<string, OverlayNetwork>();
  /** routed networks: id → subnet and gateway */
  private readonly routed = new Map<string, { subnet: string; gateway?: string }>();
  /** peers' underlay addresses that are off this host's links, as last said in the log */
  private offLink = new Set<string>();
  private paths = new Map<PeerId, Path>();
  private readonly sleeve: Sleeve;
  private readonly prober: FastdpProber;
  private probeSocket?: Transport;
  private timer?: TimerHandle;
  private resync?: TimerHandle;
  private soon?: TimerHandle;
  private running?: Promise<void>;
  private dirty = false;
  /** per network: what this host's containers were last told (ip → mac) */
  private readonly told = new Map<string, Map<string, string>>();
  /**
   * per network id: the VNI whose TAP the sleeve holds, and that TAP's virtio-net header bytes (kept apart
   * from nets: attach may fail half-way)
   */
  private readonly tapOf = new Map<string, { vni: number; vnetHdr: number }>();
  private stopped = false;

  constructor(private readonly d: DataPlaneDeps) {
    this.sleeve = new Sleeve({
      self: d.self,
      send: (next, payload) => d.mesh.send(next, MessageType.Sleeve, payload),
      nextHop: (dest) => nextHop(this.paths.get(dest), dest),
      drops: d.drops,
      budget: d.sleeveBudget,
      ...(d.sleeveDefer ? { defer: d.sleeveDefer } : {}),
      onSendError: (err) => d.log.error({ err }, 'sleeve: sending to a peer failed; its frames are dropped and counted (sleeveSendFailed)'),
    });
    this.prober = new FastdpProber({
      self: d.self,
      clock: d.clock,
      vxlanPort: d.vxlanPort,
      sendRaw: (addr, data) => d.mesh.sendRaw(addr, data),
      sendAck: (peer, nonce) => d.mesh.send(peer, MessageType.FastdpAck, nonce),
      freshMs: d.tickMs * 6,
      drops: d.drops,
    });
    d.mesh.on(MessageType.Sleeve, (_from, payload) => this.sleeve.receive(payload));
    d.mesh.on(MessageType.FastdpAck, (from, payload) => this.prober.acked(from, payload));
    d.topology.watch(() => this.tick(false));
  }

  async start(): Promise<void> {
    if (this.d.fastdp) {
      const nl = this.d.ns.host.nl;
      // the kernel drops a decapsulated frame not addressed to the device: probes carry this fixed MAC
      await ensureVxlan(nl, { name: PROBE_DEVICE, vni: PROBE_VNI, port: this.d.vxlanPort, learning: false });
      const probe = await nl.getLink(PROBE_DEVICE);
      if (probe?.mac !== PROBE_DEVICE_MAC_TEXT) await nl.setLink(PROBE_DEVICE, { up: false, mac: PROBE_DEVICE_MAC_TEXT });
      await nl.setLink(PROBE_DEVICE, { up: true });
      await ensureAddress(nl, PROBE_DEVICE, PROBE_LOCAL_CIDR_TEXT);
      this.probeSocket = await this.d.openProbeSocket();
      this.probeSocket.onReceive((data) => this.prober.received(data));
    } else {
      await removeLink(this.d.ns.host.nl, PROBE_DEVICE); // left by an earlier run with the fast path on
    }
    this.timer = this.d.clock.every(this.d.tickMs, () => this.tick(true));
    this.resync = this.d.clock.every(RESYNC_MS, () => this.schedule());
    this.tick(true);
  }

  /** keep: leave the probe device (weft stop --keep) */
  async stop(keep = false): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.resync?.cancel();
    this.soon?.cancel();
    await this.running;
    this.nets.clear();
    this.routed.clear();
    this.d.redirects?.closeAll();
    this.sleeve.close();
    await this.probeSocket?.close();
    if (this.d.fastdp && !keep) await removeLink(this.d.ns.host.nl, PROBE_DEVICE).catch(() => false);
  }

  /** the devices a network's data plane owns on this host (the reconciler keeps them) */
  deviceNames(net: NetworkRecord): string[] {
    if (isRouted(net)) return [];
    return this.d.fastdp ? [vxlanName(net.id), tapName(net.id)] : [tapName(net.id)];
  }

  /** gives a network its VXLAN and TAP ports; idempotent */
  async attach(net: NetworkRecord): Promise<void> {
    if (isRouted(net)) {
      this.routed.set(net.id, { subnet: net.subnet, ...(net.gateway ? { gateway: net.gateway } : {}) });
      this.schedule();
      return;
    }
    const vni = vniForSubnet(parseCidr(net.subnet));
    const clash = [...this.nets.values()].find((n) => n.vni === vni && n.id !== net.id);
    if (clash) throw new Error(`network ${net.subnet} would share VXLAN id ${vni} with ${clash.subnet} on this host; use another subnet`);
    const { host, bridges } = this.d.ns;
    const o: OverlayNetwork = { id: net.id, subnet: net.subnet, vni, tap: tapName(net.id), ...(net.gateway ? { gateway: net.gateway } : {}) };
    if (this.d.fastdp) {
      o.vxlan = vxlanName(net.id);
      // made from the host's namespace, so its UDP socket is on the underlay, and placed beside the bridge
      await ensureVxlan(bridges.nl, { name: o.vxlan, vni, port: this.d.vxlanPort, learning: false, proxy: true, mtu: net.mtu, netns: bridges.ref }, host.nl);
      await this.port(o.vxlan, net);
    }
    if (!this.nets.has(net.id) || !(await bridges.nl.getLink(o.tap))) {
      this.sleeve.detach(vni);
      // the TAP is made where this thread is (the host's namespace) and keeps its descriptor when moved
      const tap = this.d.openTap(o.tap);
      if (separate(this.d.ns)) {
        await host.nl.moveLink(o.tap, bridges.ref).catch((e: unknown) => {
          tap.close();
          throw e;
        });
      }
      this.sleeve.attach(vni, tap);
      this.tapOf.set(net.id, { vni, vnetHdr: tap.vnetHdr });
    }
    // with virtio-net headers, header + GSO frame must fit the packed u16 length: the kernel segments bigger ones
    const vnet = (this.tapOf.get(net.id)?.vnetHdr ?? 0) > 0;
    await this.port(o.tap, net, vnet ? { gsoMaxSize: TAP_GSO_MAX_SIZE } : {});
    this.nets.set(net.id, o);
    this.schedule();
  }

  async detach(net: NetworkRecord): Promise<void> {
    if (this.routed.delete(net.id)) {
      await this.running; // a pass under way would put back what goes now
      await applyRoutes(this.d.ns.host.nl, net.subnet, new Map(), this.d.log);
      this.schedule(); // its redirect programs go with its routes
      return;
    }
    const vni = this.tapOf.get(net.id)?.vni;
    this.nets.delete(net.id);
    this.told.delete(net.id);
    this.tapOf.delete(net.id);
    if (vni !== undefined) this.sleeve.detach(vni);
    await removeLink(this.d.ns.bridges.nl, vxlanName(net.id));
  }

  /** after the routes: each routed network's redirect program where its routes lead (none left once none is routed) */
  private async syncRedirects(): Promise<void> {
    const r = this.d.redirects;
    if (!r) return;
    const subnets = [...this.routed.values()].map((n) => n.subnet);
    const routes = subnets.length === 0 ? [] : await this.d.ns.host.nl.listRoutes().catch((e: unknown) => {
      this.d.log.error({ err: e }, 'could not read the routes for the eBPF redirects');
      return undefined;
    });
    if (routes) r.sync(subnets, routes);
  }

  /** per peer: how frames reach it */
  pathOf(peer: PeerId): Path | undefined {
    return this.paths.get(peer);
  }

  /** frames and bytes the sleeve carried, per peer */
  trafficByPeer(): ReadonlyMap<PeerId, PeerTraffic> {
    return this.sleeve.trafficByPeer();
  }

  status(): object {
    return {
      fastdp: this.d.fastdp,
      vxlanPort: this.d.vxlanPort,
      redirect: this.redirectStatus(),
      sleeve: { ...this.sleeve.counters, taps: this.sleeve.tapStats() },
      traffic: Object.fromEntries(this.sleeve.trafficByPeer()),
    };
  }

  /** routed networks' eBPF redirects: where they are, or why they are off */
  redirectStatus(): RedirectStatus {
    return this.d.redirects?.status() ?? { on: false, off: this.d.redirectsOff ?? 'off', devices: 0, subnets: {} };
  }

  /** re-plans soon (the endpoint table or the networks changed) */
  schedule(): void {
    if (this.stopped) return;
    this.soon?.cancel();
    this.soon = this.d.clock.after(10, () => void this.apply());
  }

  /** puts a device on the network's bridge, up, with the network's MTU (and `extra`, in the same request) */
  private port(name: string, net: NetworkRecord, extra: LinkChange = {}): Promise<void> {
    const nl = this.d.ns.bridges.nl;
    return (async () => {
      await nl.setLink(name, { master: net.bridge, mtu: net.mtu, up: true, ...extra });
      // no learning: weft programs every remote MAC; isolated: overlay never forwards to overlay (split horizon)
      await nl.setBridgePort(name, { learning: false, isolated: true });
    })();
  }

  private peers(): PeerId[] {
    return this.d.mesh.peersChannel.all().filter((s) => s.writer !== this.d.self && !s.data.removed).map((s) => s.writer);
  }

  private underlayIp(peer: PeerId): string | undefined {
    const a = this.d.mesh.addrOf(peer);
    return a?.slice(0, a.lastIndexOf(':'));
  }

  private tick(probe: boolean): void {
    if (this.stopped) return;
    const direct = new Set(this.d.mesh.alivePeers());
    if (probe) {
      const mine = [...direct].sort();
      if (JSON.stringify(mine) !== JSON.stringify(this.d.topology.get(this.d.self)?.data)) this.d.topology.publish(mine);
      if (this.d.fastdp) {
        for (const p of direct) {
          const ip = this.underlayIp(p);
          if (ip && this.d.mesh.peersChannel.get(p)?.data.fastdp) this.prober.probe(p, ip);
        }
      }
    }
    const paths = computePaths({
      peers: this.peers(),
      direct,
      fastdp: this.d.fastdp,
      fastdpWorks: (p) => this.d.mesh.peersChannel.get(p)?.data.fastdp === true && this.prober.works(p),
      neighboursOf: (p) => {
        const s = this.d.topology.get(p);
        return s ? new Set(s.data) : undefined;
      },
    });
    if (!samePaths(paths, this.paths)) {
      for (const [p, path] of paths) {
        const was = this.paths.get(p);
        if (was?.mode !== path.mode || was?.via !== path.via) this.d.log.info({ peer: p, mode: path.mode, via: path.via, was: was?.mode }, 'path to peer changed');
      }
      this.paths = paths;
      this.schedule();
    }
  }

  /** one pass at a time; a change during a pass runs another */
  private apply(): Promise<void> {
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        await this.applyOnce().catch((e: unknown) => this.d.log.error({ err: e }, 'data plane pass failed'));
      } while (this.dirty);
      this.running = undefined;
    })();
    return this.running;
  }

  private async applyOnce(): Promise<void> {
    const endpoints = this.d.endpoints();
    const offLink = new Set<string>();
    for (const [id, net] of [...this.routed]) {
      if (this.routed.get(id) !== net) continue;
      const want = planRoutes({
        self: this.d.self, subnet: net.subnet, ...(net.gateway ? { gateway: net.gateway } : {}), endpoints,
        path: (p) => this.paths.get(p) ?? { mode: 'unreachable' },
        underlayIp: (p) => this.underlayIp(p),
      });
      await applyRoutes(this.d.ns.host.nl, net.subnet, want, this.d.log)
        .then((r) => r.offLink.forEach((a) => offLink.add(a)))
        .catch((e: unknown) => this.d.log.error({ err: e, network: id.slice(0, 12) }, 'could not program the routes of a network'));
    }
    this.sayOffLink(offLink);
    await this.syncRedirects();
    for (const net of [...this.nets.values()]) {
      if (this.nets.get(net.id) !== net) continue; // detached (or re-attached) meanwhile
      const plan = planNetwork({
        self: this.d.self,
        network: net,
        endpoints,
        path: (p) => this.paths.get(p) ?? { mode: 'unreachable' },
        underlayIp: (p) => this.underlayIp(p),
        hostsOfSubnet: this.d.hostsWithSubnet(net.subnet),
      });
      this.sleeve.setRoutes(net.vni, {
        macs: new Map([...plan.sleeveMacs].map(([mac, peer]) => [macKeyOf(mac), peer])),
        flood: plan.sleeveFlood,
        arp: new Map([...plan.arp].map(([ip, mac]) => [parseIp(ip), macKeyOf(mac)])),
        ...(net.gateway ? { gateway: parseIp(net.gateway) } : {}),
      });
      this.announceChanges(net, plan);
      // one network's failure (its devices gone, say) must not leave the others stale
      await applyPlan(this.d.ns.bridges.nl, net, plan, this.d.log).catch((e: unknown) => this.d.log.error({ err: e, network: net.id.slice(0, 12) }, 'could not program the data plane of a network'));
    }
  }

  /** once per change: which peers' containers on routed networks have no route, and when that ends */
  private sayOffLink(now: Set<string>): void {
    for (const a of now) {
      if (!this.offLink.has(a)) this.d.log.warn({ peer: a }, 'peer is not on a link of this host: its containers on routed networks get no route (routed networks need the hosts on one link)');
    }
    for (const a of this.offLink) if (!now.has(a)) this.d.log.info({ peer: a }, 'peer is on a link of this host again: routing to its containers');
    this.offLink = now;
  }

  /**
   * A container that moved (or came) keeps its IP with a new MAC: the
   * containers here may hold the old MAC in their ARP cache, so the bridge gets
   * a gratuitous ARP for every address whose MAC changed, now and a second later.
   */
  private announceChanges(net: OverlayNetwork, plan: NetworkPlan): void {
    const told = this.told.get(net.id);
    this.told.set(net.id, new Map(plan.addresses));
    if (!told) return; // the first pass after attach: nobody here holds stale entries yet
    for (const [ip, mac] of plan.addresses) {
      if (told.get(ip) === mac) continue;
      const say = () => {
        if (this.told.get(net.id)?.get(ip) === mac) this.sleeve.announce(net.vni, macKeyOf(mac), parseIp(ip));
      };
      say();
      this.d.clock.after(1000, say);
    }
  }
}
