/**
 * The sleeve: Ethernet frames carried by weft itself, in the mesh's (sealed when
 * there is a password) UDP datagrams, for peers the kernel's VXLAN path does not
 * reach, and through a neighbour for peers we do not reach at all.
 *
 * One TAP per network sits on the bridge. What the bridge sends it (frames for
 * MACs on sleeve peers, broadcast, unknown unicast) is read in batches and
 * packed, per destination peer, into as few datagrams as the budget allows.
 * ARP for an address weft knows is answered here, never sent over the mesh.
 *
 * The TAP has virtio-net headers and offloads (tap/vnet.ts): what it reads are mostly
 * TCP super-frames of up to 64 KiB with a partial checksum, and each frame travels
 * with its header, so the receiving kernel segments or checksums it only where it must.
 * A super-frame larger than a datagram is cut on segment boundaries, the first piece
 * filling the datagram being built.
 */
import type { PeerId } from '../mesh/peerId';
import type { Bytes } from '../mesh/transport/bytes';
import type { DropCounter } from '../mesh/stats';
import { arpReply, gratuitousArp, parseArp } from './frames/arp';
import { ETH_HLEN, ETH_P_ARP } from './frames/ethernet';
import { isGroupKey, macKey } from './frames/mac';
import { decodeSleeve, forEachFrame, PACK_PREFIX_BYTES, PackBuilder, withHops } from './frames/sleeve';
import { packFrames } from './tap/packed';
import { TapError, type TapDevice } from './tap/tap';
import { parseGso, splitGso, VNET_HDR_BYTES, withVnetHdr } from './tap/vnet';

/** the header before each frame; the Ethernet header follows it */
const V = VNET_HDR_BYTES;

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
  /**
   * hands a datagram payload to the mesh for a peer: the sleeve's own datagrams as parts (the
   * header and views of the frames, never copied together here: the mesh's framing copies them
   * once, into its records), a relayed one as the buffer it came in
   */
  send(next: PeerId, payload: Bytes): void;
  /** the peer to hand frames for `dest` to (itself, or the relay); undefined: unreachable */
  nextHop(dest: PeerId): PeerId | undefined;
  drops: DropCounter;
  /** most bytes of packed frames per datagram */
  budget: number;
  /**
   * Holds back datagrams that still have room until the TAP batches at hand are all read: given
   * the flush, runs it soon (the daemon: setImmediate, once the event loop's I/O callbacks are done).
   * Without it every batch is sent as it comes. Why: a receiving container's TCP answers each
   * super-frame written into its TAP with an ACK, which the reader hands over as a batch of its
   * own; sent one by one they cost a datagram each (a send here, a receive and a TAP write on the
   * peer), as much as the data they acknowledge. Deferred, the ACKs of every datagram this daemon
   * handled in one turn of the loop leave as one datagram, and the more it has to do the more they
   * coalesce; a lone frame waits only for the end of the turn.
   */
  defer?: (flush: () => void) => void;
  /**
   * told when sending to a next hop starts to fail (its first failure after a success, so a lasting
   * fault is told once); every datagram that fails is a counted drop, sleeveSendFailed, by its frames
   */
  onSendError?: (err: unknown) => void;
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
  /** per VNI, per destination: the datagrams being filled (all but the last of a list are full) */
  private readonly pending = new Map<number, Map<PeerId, PackBuilder[]>>();
  private flushQueued = false;
  /** next hops whose last send threw (see SleeveOptions.onSendError) */
  private readonly failingTo = new Set<PeerId>();
  private readonly flush = () => {
    this.flushQueued = false;
    for (const [vni, dests] of this.pending) {
      for (const [dest, builders] of dests) this.ship(vni, dest, builders);
    }
    this.pending.clear();
    // every frame read is now copied into a datagram (the mesh's framing) or dropped: the TAPs may reuse their batches
    for (const n of this.nets.values()) n.tap.recycle();
  };
  /** split: GSO super-frames cut to fit a datagram; pieces: what they were cut into */
  readonly counters = { relayed: 0, arpAnswered: 0, announced: 0, split: 0, pieces: 0 };

  constructor(private readonly o: SleeveOptions) {}

  /** takes the TAP (one with virtio-net headers: the datagram format carries them) */
  attach(vni: number, tap: TapDevice): void {
    if (tap.vnetHdr !== V) throw new TapError('EINVAL', `TAP ${tap.name}: the sleeve needs virtio-net headers (${V} bytes), it has ${tap.vnetHdr}`);
    this.detach(vni);
    this.nets.set(vni, { tap, routes: EMPTY });
    tap.start((packed) => this.fromTap(vni, packed));
    tap.recycle(); // flush recycles: said now, so the reader waits for a slot from the first burst on
  }

  detach(vni: number): void {
    this.nets.get(vni)?.tap.close();
    this.nets.delete(vni);
  }

  close(): void {
    for (const vni of [...this.nets.keys()]) this.detach(vni);
    this.pending.clear();
  }

  setRoutes(vni: number, routes: SleeveRoutes): void {
    const n = this.nets.get(vni);
    if (n) n.routes = routes;
  }

  /** tells this host's containers where an address now lives (gratuitous ARP into the bridge) */
  announce(vni: number, mac: number, ip: number): void {
    const n = this.nets.get(vni);
    if (!n) return;
    n.tap.write(packFrames([withVnetHdr(gratuitousArp(mac, ip))]));
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
    let out = this.pending.get(vni);
    if (!out) this.pending.set(vni, (out = new Map<PeerId, PackBuilder[]>()));
    const pending = out;
    const budget = this.o.budget;
    const add = (dest: PeerId, frame: Buffer) => {
      let list = pending.get(dest);
      if (!list) pending.set(dest, (list = [new PackBuilder(budget)]));
      else if (list.length > 1) {
        // datagrams filled by earlier batches go now, in order; only the last one waits for more
        this.ship(vni, dest, list.slice(0, -1));
        list.splice(0, list.length - 1);
      }
      const last = list[list.length - 1]!;
      if (last.add(frame)) return;
      if (frame.length + PACK_PREFIX_BYTES <= budget) {
        const b = new PackBuilder(budget);
        b.add(frame);
        list.push(b);
        return;
      }
      // bigger than any datagram: a GSO super-frame is cut, the first piece filling the datagram being built
      const g = parseGso(frame);
      const pieces = g && splitGso(g, budget - PACK_PREFIX_BYTES, last.room);
      if (!pieces) return this.o.drops.count('sleeveFrameTooBig');
      this.counters.split++;
      this.counters.pieces += pieces.length;
      let b = last;
      for (const p of pieces) {
        if (!b.add(p.head, p.payload)) {
          b = new PackBuilder(budget);
          b.add(p.head, p.payload);
          list.push(b);
        }
      }
    };
    forEachFrame(packed, (frame) => {
      if (frame.length < V + ETH_HLEN) return this.o.drops.count('sleeveRunt');
      const dst = macKey(frame, V);
      if (!isGroupKey(dst)) {
        const host = routes.macs.get(dst);
        if (host !== undefined) return add(host, frame);
      } else if (frame.readUInt16BE(V + 12) === ETH_P_ARP) {
        const a = parseArp(frame.subarray(V));
        if (a && a.op === 1) {
          if (a.targetIp === routes.gateway) return;
          const mac = routes.arp.get(a.targetIp);
          if (mac !== undefined) {
            tap.write(packFrames([withVnetHdr(arpReply(a, mac))]));
            this.counters.arpAnswered++;
            return;
          }
        }
      }
      // broadcast, multicast, or a MAC the table does not have (yet)
      for (const p of routes.flood) add(p, frame);
    });
    const defer = this.o.defer;
    if (!defer) return this.flush();
    if (this.flushQueued) return;
    this.flushQueued = true;
    defer(this.flush);
  }

  /** sends the datagrams built for dest (the builders are spent) */
  private ship(vni: number, dest: PeerId, builders: readonly PackBuilder[]): void {
    const next = this.o.nextHop(dest);
    if (next === undefined) {
      this.o.drops.count('sleeveUnreachable', builders.reduce((n, b) => n + b.count, 0));
      return;
    }
    const t = this.trafficOf(dest);
    for (const b of builders) {
      const { count, bytes } = b; // read first: taking the parts spends the builder
      if (count === 0) continue;
      const h = { hops: 0, origin: this.o.self, dest, vni };
      try {
        this.o.send(next, b.takeDatagramParts(h));
      } catch (err) {
        // runs from the TAP's reader and the deferred flush, where a throw would end the daemon:
        // a send that throws (a bug, the cipher failing) costs its datagram, and the rest still go
        this.o.drops.count('sleeveSendFailed', count);
        if (!this.failingTo.has(next)) this.o.onSendError?.(err);
        this.failingTo.add(next);
        continue;
      }
      if (this.failingTo.size) this.failingTo.delete(next);
      t.framesOut += count;
      t.bytesOut += bytes;
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
