/**
 * The sleeve: Ethernet frames carried by weft itself, in the mesh's (sealed when
 * there is a password) UDP datagrams, for peers the kernel's VXLAN path does not
 * reach, and through a neighbour for peers we do not reach at all.
 *
 * One TAP per network sits on the bridge. What the bridge sends it (frames for
 * MACs on sleeve peers, broadcast, unknown unicast) is read in batches and
 * packed, per destination peer, into as few datagrams as the budget allows.
 * ARP for an address weft knows is answered here, never sent over the mesh.
 */
import type { PeerId } from '../mesh/peerId';
import type { DropCounter } from '../mesh/stats';
import { arpReply, gratuitousArp, parseArp } from './frames/arp';
import { ETH_P_ARP, ethType, isEthernet } from './frames/ethernet';
import { isGroupKey, macKey } from './frames/mac';
import { decodeSleeve, encodeSleeve, forEachFrame, PackBuilder, withHops } from './frames/sleeve';
import { packFrames } from './tap/packed';
import type { TapDevice } from './tap/tap';

export interface SleeveRoutes {
  /** MAC (macKey) → the peer hosting it */
  macs: Map<number, PeerId>;
  /** peers through the sleeve that have the network: broadcast and unknown unicast */
  flood: PeerId[];
  /** addresses the sleeve answers ARP for: ip → macKey */
  arp: Map<number, number>;
  /** the network's anycast gateway: every host answers it locally, so its ARP never travels */
  gateway?: number;
}

export interface SleeveOptions {
  self: PeerId;
  /** hands a datagram payload to the mesh for a peer */
  send(next: PeerId, payload: Buffer): void;
  /** the peer to hand frames for `dest` to (itself, or the relay); undefined: unreachable */
  nextHop(dest: PeerId): PeerId | undefined;
  drops: DropCounter;
  /** most bytes of packed frames per datagram */
  budget: number;
}

export interface PeerTraffic {
  framesOut: number;
  bytesOut: number;
  framesIn: number;
  bytesIn: number;
}

interface Attached {
  tap: TapDevice;
  routes: SleeveRoutes;
}

const EMPTY: SleeveRoutes = { macs: new Map(), flood: [], arp: new Map() };

export class Sleeve {
  private readonly nets = new Map<number, Attached>();
  private readonly traffic = new Map<PeerId, PeerTraffic>();
  readonly counters = { relayed: 0, arpAnswered: 0, announced: 0 };

  constructor(private readonly o: SleeveOptions) {}

  attach(vni: number, tap: TapDevice): void {
    this.detach(vni);
    this.nets.set(vni, { tap, routes: EMPTY });
    tap.start((packed) => this.fromTap(vni, packed));
  }

  detach(vni: number): void {
    this.nets.get(vni)?.tap.close();
    this.nets.delete(vni);
  }

  close(): void {
    for (const vni of [...this.nets.keys()]) this.detach(vni);
  }

  setRoutes(vni: number, routes: SleeveRoutes): void {
    const n = this.nets.get(vni);
    if (n) n.routes = routes;
  }

  /** tells this host's containers where an address now lives (gratuitous ARP into the bridge) */
  announce(vni: number, mac: number, ip: number): void {
    const n = this.nets.get(vni);
    if (!n) return;
    n.tap.write(packFrames([gratuitousArp(mac, ip)]));
    this.counters.announced++;
  }

  trafficByPeer(): ReadonlyMap<PeerId, PeerTraffic> {
    return this.traffic;
  }

  tapStats(): Array<{ vni: number; name: string } & ReturnType<TapDevice['stats']>> {
    return [...this.nets].map(([vni, n]) => ({ vni, name: n.tap.name, ...n.tap.stats() }));
  }

  /** a batch the bridge gave the TAP */
  private fromTap(vni: number, packed: Buffer): void {
    const n = this.nets.get(vni);
    if (!n) return;
    const { routes, tap } = n;
    const out = new Map<PeerId, PackBuilder[]>();
    const add = (dest: PeerId, frame: Buffer) => {
      let list = out.get(dest);
      if (!list) out.set(dest, (list = [new PackBuilder(this.o.budget)]));
      if (!list[list.length - 1].add(frame)) {
        const b = new PackBuilder(this.o.budget);
        if (!b.add(frame)) return this.o.drops.count('sleeveFrameTooBig');
        list.push(b);
      }
    };
    forEachFrame(packed, (frame) => {
      if (!isEthernet(frame)) return this.o.drops.count('sleeveRunt');
      const dst = macKey(frame, 0);
      if (!isGroupKey(dst)) {
        const host = routes.macs.get(dst);
        if (host !== undefined) return add(host, frame);
      } else if (ethType(frame) === ETH_P_ARP) {
        const a = parseArp(frame);
        if (a && a.op === 1) {
          if (a.targetIp === routes.gateway) return;
          const mac = routes.arp.get(a.targetIp);
          if (mac !== undefined) {
            tap.write(packFrames([arpReply(a, mac)]));
            this.counters.arpAnswered++;
            return;
          }
        }
      }
      // broadcast, multicast, or a MAC the table does not have (yet)
      for (const p of routes.flood) add(p, frame);
    });
    for (const [dest, builders] of out) {
      const next = this.o.nextHop(dest);
      if (next === undefined) {
        this.o.drops.count('sleeveUnreachable', builders.reduce((n, b) => n + b.count, 0));
        continue;
      }
      const t = this.trafficOf(dest);
      for (const b of builders) {
        if (b.count === 0) continue;
        t.framesOut += b.count;
        t.bytesOut += b.bytes;
        this.o.send(next, encodeSleeve({ hops: 0, origin: this.o.self, dest, vni }, b.take()));
      }
    }
  }

  /** a sleeve datagram from the mesh */
  receive(payload: Buffer): void {
    const d = decodeSleeve(payload);
    if (!d.ok) return this.o.drops.count(`sleeve:${d.reason}`);
    const h = d.header;
    if (h.dest !== this.o.self) {
      // relay one hop, only to a peer we reach directly
      if (h.hops !== 0 || this.o.nextHop(h.dest) !== h.dest) return this.o.drops.count('sleeveNoRelay');
      this.counters.relayed++;
      this.o.send(h.dest, withHops(payload, 1));
      return;
    }
    const n = this.nets.get(h.vni);
    if (!n) return this.o.drops.count('sleeveUnknownNetwork');
    const t = this.trafficOf(h.origin);
    t.framesIn += d.frames;
    t.bytesIn += d.packed.length;
    const written = n.tap.write(d.packed);
    if (written < d.frames) this.o.drops.count('tapFull', d.frames - written);
  }

  private trafficOf(peer: PeerId): PeerTraffic {
    let t = this.traffic.get(peer);
    if (!t) this.traffic.set(peer, (t = { framesOut: 0, bytesOut: 0, framesIn: 0, bytesIn: 0 }));
    return t;
  }
}
