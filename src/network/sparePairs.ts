/**
 * Spare veth pairs, made ahead on each network's bridge. Making a pair is the
 * kernel's slowest step in a `docker run` on weft (two netdevs registered, their
 * sysfs entries, a bridge port: 3–15 ms here, and the most variable part of
 * CreateEndpoint), so CreateEndpoint takes a spare and makes no kernel call; the
 * spare is made again in the background, while Docker goes on with Join and the
 * container's start.
 *
 * A spare is made exactly as an endpoint's pair is (host end up on the bridge,
 * the network's MTU, the container end down), under names of its own: the
 * endpoint record keeps whatever names its pair has. Spares live in memory
 * only; those a stopped process leaves are devices without a record, which the
 * reconciler removes at the next start.
 *
 * A routed network's spares are made where its endpoints' are, in the host's
 * namespace, on no bridge, answering ARP already (./routed.ts); taking one then
 * costs the endpoint's route and neighbour entry, two netlink requests.
 *
 * A pair also comes back when its endpoint is deleted (giveBack): by then Docker
 * has moved the container end back to the host namespace, down and under the
 * name weft gave it, so the pair is a spare again as it is. DeleteEndpoint then
 * skips the kernel's other slow step (deleting a veth waits for RCU grace
 * periods: 10–20 ms here), and under steady container churn no pair is made or
 * deleted at all.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { removeLink } from '../netlink/ensure';
import type { Sysctl } from '../util/sysctl';
import { isRouted, type NetworkRecord } from './model';
import { hostEndSide, type Namespaces } from './namespaces';
import { makeRoutedSpare } from './routed';
import { CONTAINER_VETH_PREFIX, HOST_VETH_PREFIX } from './names';

/** per network; a `docker run` takes one, so two cover a burst of two before the refill catches up */
export const SPARE_PAIRS = 2;

/** a pool takes pairs back up to this many times its size; past that they are deleted (after a burst of stops) */
export const GIVE_BACK_LIMIT = 2;

/** not a hex digit: a spare's names never equal those made from an endpoint id */
const SPARE_MARK = 'z';

export interface VethNames {
  hostVeth: string;
  containerVeth: string;
}

interface Pool {
  net: NetworkRecord;
  ready: VethNames[];
  /** the pair being made, named before the kernel has it (the reconciler must not take it for a leftover) */
  making?: VethNames;
  run?: Promise<void>;
  /** fill asked again while a run was under way */
  again: boolean;
  closed: boolean;
  /** wakes the taker waiting for the pair being made (there is at most one): when one is ready or the run ends */
  waiting?: () => void;
}

export class SparePairs {
  private readonly pools = new Map<string, Pool>();

  /** sysctl: for a routed network's spares (proxy ARP on the host end) */
  constructor(private readonly d: { ns: Namespaces; log: Logger; size: number; sysctl: Sysctl }) {}

  /** tops the network's spares up in the background (idempotent) */
  fill(net: NetworkRecord): void {
    if (this.d.size <= 0) return;
    let pool = this.pools.get(net.id);
    if (!pool) {
      pool = { net, ready: [], again: false, closed: false };
      this.pools.set(net.id, pool);
    }
    pool.net = net;
    if (pool.run) {
      pool.again = true;
      return;
    }
    const p = pool;
    p.run = this.topUp(p).finally(() => {
      p.run = undefined;
      if (p.again && !p.closed) {
        p.again = false;
        this.fill(p.net);
      }
      wake(p);
    });
  }

  /**
   * A spare of this network, no longer the pool's, and the pool tops itself up behind it; undefined
   * when none is ready and none can be waited for. One taker waits for the pair being made (a network
   * just created, or a burst that emptied the pool): it is under way already, where a pair made for
   * the taker would queue behind it on the rtnl lock (the first endpoint of a new network took up to
   * 0.77 s that way under load). Further takers make pairs of their own, side by side, rather than
   * queue for the pool's, which makes one at a time.
   */
  async take(networkId: string): Promise<VethNames | undefined> {
    for (;;) {
      const pool = this.pools.get(networkId);
      if (!pool || pool.closed) return undefined;
      const spare = pool.ready.shift();
      if (spare) {
        this.fill(pool.net);
        return spare;
      }
      if (pool.making === undefined || pool.waiting) return undefined;
      await new Promise<void>((r) => (pool.waiting = r));
    }
  }

  /**
   * Takes back a deleted endpoint's pair when it is as a spare is made (the host end up on the
   * network's bridge, or on none for a routed network, the container end down in the host's namespace,
   * the network's MTU): three lookups instead of a deletion that waits for RCU grace periods. false
   * when it is not, when the pool is full or gone, or when a lookup fails; then the caller deletes it.
   * A routed endpoint's route and neighbour entry are the caller's to take away first.
   */
  async giveBack(net: NetworkRecord, pair: VethNames): Promise<boolean> {
    if (!this.hasRoom(net.id)) return false;
    const h = this.d.ns.host;
    const b = hostEndSide(this.d.ns, net);
    try {
      const host = await b.nl.getLink(pair.hostVeth);
      const peer = await h.nl.getLink(pair.containerVeth);
      const master = isRouted(net) ? undefined : (await b.nl.getLink(net.bridge))?.index ?? -1;
      const asSpare =
        host?.kind === 'veth' && host.up && host.mtu === net.mtu && host.masterIndex === master &&
        peer?.kind === 'veth' && !peer.up && peer.mtu === net.mtu && peer.masterIndex === undefined;
      // the lookups yield: the pool may have filled or closed meanwhile
      if (!asSpare || !this.hasRoom(net.id)) return false;
    } catch (e) {
      this.d.log.warn({ err: e, veth: pair.hostVeth }, 'could not look at a veth pair to keep it as a spare; deleting it');
      return false;
    }
    this.pools.get(net.id)!.ready.push(pair);
    return true;
  }

  /** the network's pool is open and not full */
  private hasRoom(networkId: string): boolean {
    const pool = this.pools.get(networkId);
    return pool !== undefined && !pool.closed && pool.ready.length < GIVE_BACK_LIMIT * this.d.size;
  }

  /** the pairs the pool holds or is making for this network */
  pairs(networkId: string): VethNames[] {
    const pool = this.pools.get(networkId);
    if (!pool) return [];
    return [...pool.ready, ...(pool.making ? [pool.making] : [])];
  }

  /** their device names, both ends */
  deviceNames(networkId: string): string[] {
    return this.pairs(networkId).flatMap((s) => [s.hostVeth, s.containerVeth]);
  }

  /** resolves once no spare is being made (before the netlink socket closes) */
  async settled(): Promise<void> {
    for (;;) {
      const runs = [...this.pools.values()].map((p) => p.run).filter((r): r is Promise<void> => r !== undefined);
      if (runs.length === 0) return;
      await Promise.all(runs);
    }
  }

  /** stops refilling and removes the network's spares (before its bridge goes) */
  async drain(networkId: string): Promise<void> {
    const pool = this.pools.get(networkId);
    if (!pool) return;
    pool.closed = true;
    await pool.run;
    this.pools.delete(networkId);
    for (const s of pool.ready) {
      // deleting one end of a veth deletes both
      await removeLink(hostEndSide(this.d.ns, pool.net).nl, s.hostVeth).catch((e: unknown) => this.d.log.warn({ err: e, veth: s.hostVeth }, 'could not remove a spare veth pair'));
    }
  }

  private async topUp(pool: Pool): Promise<void> {
    while (!pool.closed && pool.ready.length < this.d.size) {
      const names = spareNames();
      pool.making = names;
      try {
        const { net } = pool;
        const { host, bridges } = this.d.ns;
        if (isRouted(net)) {
          await makeRoutedSpare(host.nl, this.d.sysctl, net, names);
        } else {
          await bridges.nl.createVeth({
            name: names.hostVeth, peerName: names.containerVeth, peerNetns: host.ref, mtu: net.mtu, master: net.bridge, up: true,
          });
        }
        pool.ready.push(names);
        wake(pool);
      } catch (e) {
        // the next take or apply tries again; CreateEndpoint makes its own pair meanwhile
        this.d.log.warn({ err: e, network: pool.net.id.slice(0, 12) }, 'could not make a spare veth pair');
        return;
      } finally {
        pool.making = undefined;
      }
    }
  }
}

function wake(pool: Pool): void {
  const r = pool.waiting;
  pool.waiting = undefined;
  r?.();
}

function spareNames(): VethNames {
  const tail = SPARE_MARK + randomBytes(6).toString('hex').slice(0, 11);
  return { hostVeth: HOST_VETH_PREFIX + tail, containerVeth: CONTAINER_VETH_PREFIX + tail };
}
