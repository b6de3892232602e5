/**
 * The network driver's model on this host: networks (one Linux bridge each, and
 * a veth pair whose host end holds the gateway address) and endpoints (one veth
 * pair each: the host end on the bridge, the other end handed to Docker for the
 * container). Bridges and their ports live in Namespaces.bridges, what Docker
 * and the host use in Namespaces.host (./namespaces.ts). A routed network has
 * no bridge: its devices and routes are all in the host's namespace (./routed.ts).
 * Kernel first, then the record: a crash in between leaves a device without a
 * record, which the reconciler removes at the next start.
 */
import type { Logger } from 'pino';
import { type Cidr, contains, formatCidr, formatIp, parseCidr } from '../addr/cidr';
import { isNetlinkError, NetlinkError } from '../netlink/errors';
import { ensureAddress, ensureBridge, ensureVeth, removeAddress, removeLink, settleLink } from '../netlink/ensure';
import type { Firewall } from '../firewall/types';
import type { Store } from '../store/types';
import type { Clock } from '../util/clock';
import { KeyedMutex } from '../util/keyedMutex';
import { NetworkError } from './errors';
import type { Sysctl } from '../util/sysctl';
import { type EndpointRecord, isRouted, type NetworkCollections, type NetworkMode, type NetworkRecord } from './model';
import { hostEndSide, type Namespaces, separate } from './namespaces';
import { bridgeMac, bridgeName, containerVethName, gatewayMac, gatewayName, gatewayPortName, hostVethName, macForIp } from './names';
import { applyRoutedEndpoint, applyRoutedNetwork, routeEndpoint, unapplyRoutedNetwork, unrouteEndpoint } from './routed';
import type { SparePairs } from './sparePairs';

export interface CreateNetworkInput {
  id: string;
  subnet: Cidr;
  gateway?: { ip: number; prefix: number };
  mtu?: number;
  internal: boolean;
  /** overlay when unset */
  mode?: NetworkMode;
}

export interface CreateEndpointInput {
  networkId: string;
  endpointId: string;
  ip: number;
  prefix: number;
  /** Docker's MAC; undefined when it gave none */
  mac?: string;
}

export interface JoinResult {
  srcName: string;
  gateway?: string;
}

/** the data plane's ports on a network's bridge (VXLAN, TAP): made with the bridge, removed before it */
export interface NetworkPorts {
  attach(net: NetworkRecord): Promise<void>;
  detach(net: NetworkRecord): Promise<void>;
  deviceNames(net: NetworkRecord): string[];
}

export interface NetworkDeps {
  store: Store<NetworkCollections>;
  ns: Namespaces;
  firewall: Firewall;
  clock: Clock;
  log: Logger;
  /** MTU for overlay networks that set none (the underlay's less VXLAN's overhead) */
  mtu: number;
  /** MTU for routed networks that set none (the underlay's) */
  routedMtu: number;
  /** the host namespace's settings: proxy ARP on routed endpoints */
  sysctl: Sysctl;
  /** the mesh has a password: routed networks, whose traffic weft does not carry, are refused */
  encrypted?: boolean;
  /** told after a network was created or deleted (the cluster sync reacts) */
  onNetworksChanged?: () => void;
  /** told after an endpoint was created or deleted (the endpoint table reacts) */
  onEndpointsChanged?: () => void;
  ports?: NetworkPorts;
  /** veth pairs made ahead, so CreateEndpoint need not wait for the kernel to make one */
  spares?: SparePairs;
}

export class Networks {
  private readonly lock = new KeyedMutex();
  /**
   * Endpoints whose veth pair this process made and Docker has not joined yet:
   * their container end is where CreateEndpoint left it, so Join need not ask the
   * kernel (a netlink round trip on every `docker run`).
   */
  private readonly unjoined = new Set<string>();

  constructor(private readonly d: NetworkDeps) {}

  network(id: string): NetworkRecord | undefined {
    return this.d.store.get('networks', id);
  }

  networks(): NetworkRecord[] {
    return this.d.store.all('networks').map(([, n]) => n);
  }

  endpoints(networkId?: string): EndpointRecord[] {
    const all = this.d.store.all('endpoints').map(([, e]) => e);
    return networkId === undefined ? all : all.filter((e) => e.networkId === networkId);
  }

  /** the weft network on this host that uses exactly this subnet, for IPAM's refusal */
  subnetUser(subnet: Cidr): string | undefined {
    const text = formatCidr(subnet);
    return this.networks().find((n) => n.subnet === text)?.id.slice(0, 12);
  }

  createNetwork(input: CreateNetworkInput): Promise<void> {
    return this.lock.run(`net:${input.id}`, async () => {
      const existing = this.network(input.id);
      if (existing) {
        if (existing.subnet === formatCidr(input.subnet) && (existing.mode ?? 'overlay') === (input.mode ?? 'overlay')) return; // a retry
        throw new NetworkError('Conflict', `weft: network ${input.id.slice(0, 12)} already exists with subnet ${existing.subnet} (${existing.mode ?? 'overlay'})`);
      }
      if (input.mode === 'routed') await this.checkRouted();
      const clash = this.networks().find((n) => n.subnet === formatCidr(input.subnet));
      if (clash) {
        throw new NetworkError('Conflict', `weft: subnet ${formatCidr(input.subnet)} is already used by weft network ${clash.id.slice(0, 12)}`);
      }
      const rec: NetworkRecord = {
        id: input.id,
        bridge: bridgeName(input.id),
        subnet: formatCidr(input.subnet),
        ...(input.gateway ? { gateway: formatIp(input.gateway.ip) } : {}),
        mtu: input.mtu ?? (input.mode === 'routed' ? this.d.routedMtu : this.d.mtu),
        mac: gatewayMac(input.subnet),
        internal: input.internal,
        ...(input.mode === 'routed' ? { mode: 'routed' as const } : {}),
        createdAt: this.d.clock.now(),
      };
      try {
        await this.applyNetwork(rec);
      } catch (e) {
        await this.unapplyNetwork(rec, true);
        throw kernelError(`create bridge ${rec.bridge}`, e);
      }
      this.d.store.put('networks', rec.id, rec);
      this.d.onNetworksChanged?.();
    });
  }

  /** makes the kernel match a network record (idempotent; the reconciler uses it too) */
  async applyNetwork(rec: NetworkRecord): Promise<void> {
    const { host, bridges } = this.d.ns;
    if (isRouted(rec)) {
      await applyRoutedNetwork(host.nl, rec);
      // routed traffic crosses the host's FORWARD chain in every layout
      await this.d.firewall.allowSubnet(rec.subnet);
      await this.d.ports?.attach(rec);
      this.d.spares?.fill(rec);
      return;
    }
    const subnet = parseCidr(rec.subnet);
    await ensureBridge(bridges.nl, { name: rec.bridge, mtu: rec.mtu, mac: bridgeMac(subnet), up: true });
    if (rec.gateway) {
      const port = gatewayPortName(rec.id);
      const gw = gatewayName(rec.id);
      await ensureVeth(bridges.nl, { name: port, peerName: gw, peerNetns: host.ref, peerMac: rec.mac, mtu: rec.mtu, master: rec.bridge, up: true });
      // the anycast gateway: the same address and MAC on every host; the bridge sends that MAC to this port
      // only (flooded, it would reach every host's gateway over the overlay)
      await settleLink(host.nl, gw, { mtu: rec.mtu, mac: rec.mac, up: true });
      await bridges.nl.setFdb({ dev: port, mac: rec.mac, master: true });
      const cidr = `${rec.gateway}/${subnet.prefix}`;
      await ensureAddress(host.nl, gw, cidr);
      // a weft before 2026-11-25 put the gateway on the bridge itself
      await removeAddress(bridges.nl, rec.bridge, cidr);
    }
    // iptables sees bridged traffic only in the host's namespace
    if (separate(this.d.ns)) await this.d.firewall.revokeBridge(rec.bridge);
    else await this.d.firewall.allowBridge(rec);
    await this.d.ports?.attach(rec);
    this.d.spares?.fill(rec);
  }

  /**
   * Takes a network's bridge, gateway and ports out of the kernel, keeping its record and
   * the endpoints' veth pairs (a running container keeps its interface): the next
   * start puts the rest back. For `weft stop`, DeleteNetwork, and a CreateNetwork that
   * failed half-way (`bestEffort`: every step is tried; else the first failure stops it).
   */
  async unapplyNetwork(rec: NetworkRecord, bestEffort = false): Promise<void> {
    const step = (p: Promise<unknown>) => (bestEffort ? p.catch(() => undefined) : p);
    if (isRouted(rec)) {
      await step(this.d.spares?.drain(rec.id) ?? Promise.resolve());
      await step(this.d.ports?.detach(rec) ?? Promise.resolve());
      await step(unapplyRoutedNetwork(this.d.ns.host.nl, rec));
      await step(this.d.firewall.revokeSubnet(rec.subnet));
      return;
    }
    await step(this.d.spares?.drain(rec.id) ?? Promise.resolve());
    await step(this.d.ports?.detach(rec) ?? Promise.resolve());
    // deleting one end of a veth deletes both
    await step(removeLink(this.d.ns.bridges.nl, gatewayPortName(rec.id)));
    await step(removeLink(this.d.ns.bridges.nl, rec.bridge));
    await step(this.d.firewall.revokeBridge(rec.bridge));
  }

  /** every device a network owns on this host besides its endpoints', by the namespace it lives in */
  deviceNames(rec: NetworkRecord): { host: string[]; bridges: string[] } {
    const spares = this.d.spares?.pairs(rec.id) ?? [];
    if (isRouted(rec)) return { host: [...(rec.gateway ? [gatewayName(rec.id)] : []), ...spares.flatMap((s) => [s.hostVeth, s.containerVeth])], bridges: [] };
    return {
      host: [...(rec.gateway ? [gatewayName(rec.id)] : []), ...spares.map((s) => s.containerVeth)],
      bridges: [
        rec.bridge, ...(rec.gateway ? [gatewayPortName(rec.id)] : []), ...(this.d.ports?.deviceNames(rec) ?? []),
        ...spares.map((s) => s.hostVeth),
      ],
    };
  }

  /** idempotent; endpoints Docker forgot to delete go with the network */
  deleteNetwork(id: string): Promise<void> {
    return this.lock.run(`net:${id}`, async () => {
      const rec = this.network(id);
      if (!rec) return;
      await this.d.spares?.drain(id);
      for (const ep of this.endpoints(id)) await this.removeEndpoint(ep);
      await this.unapplyNetwork(rec).catch((e: unknown) => {
        throw kernelError(`delete bridge ${rec.bridge}`, e);
      });
      this.d.store.delete('networks', id);
      this.d.onNetworksChanged?.();
    });
  }

  createEndpoint(input: CreateEndpointInput): Promise<{ mac: string; generated: boolean }> {
    return this.lock.run(`ep:${input.endpointId}`, async () => {
      const net = this.requireNetwork(input.networkId);
      const subnet = parseCidr(net.subnet);
      if (!contains(subnet, input.ip) || input.prefix !== subnet.prefix) {
        throw new NetworkError('BadRequest', `weft: address ${formatIp(input.ip)}/${input.prefix} does not belong to network subnet ${net.subnet}`);
      }
      const existing = this.d.store.get('endpoints', input.endpointId);
      if (existing) {
        if (existing.address === `${formatIp(input.ip)}/${input.prefix}`) return { mac: existing.mac, generated: !input.mac };
        throw new NetworkError('Conflict', `weft: endpoint ${input.endpointId.slice(0, 12)} already exists with address ${existing.address}`);
      }
      const base = {
        id: input.endpointId,
        networkId: net.id,
        address: `${formatIp(input.ip)}/${input.prefix}`,
        mac: input.mac ?? macForIp(input.ip),
        createdAt: this.d.clock.now(),
      };
      let rec = await this.useSpare(net, base);
      if (!rec) {
        rec = { ...base, hostVeth: hostVethName(input.endpointId), containerVeth: containerVethName(input.endpointId) };
        try {
          await this.applyEndpoint(net, rec);
        } catch (e) {
          await removeLink(hostEndSide(this.d.ns, net).nl, rec.hostVeth).catch(() => undefined);
          throw kernelError(`create veth ${rec.hostVeth}`, e);
        }
      }
      this.d.store.put('endpoints', rec.id, rec);
      this.unjoined.add(rec.id);
      this.d.onEndpointsChanged?.();
      return { mac: rec.mac, generated: !input.mac };
    });
  }

  /** makes the kernel match an endpoint record: the pair exists, host end on the bridge and up */
  async applyEndpoint(net: NetworkRecord, rec: EndpointRecord): Promise<void> {
    const { host, bridges } = this.d.ns;
    if (isRouted(net)) return applyRoutedEndpoint(host.nl, this.d.sysctl, net, rec);
    const create = () => bridges.nl.createVeth({
      name: rec.hostVeth, peerName: rec.containerVeth, peerNetns: host.ref, mtu: net.mtu, peerMac: rec.mac, master: net.bridge, up: true,
    });
    // the common case in one round trip: a new pair, made up and on the bridge, the container end where Docker looks
    try {
      return await create();
    } catch (e) {
      if (!isNetlinkError(e, 'EEXIST')) throw e;
    }
    if (await bridges.nl.getLink(rec.hostVeth)) return bridges.nl.setLink(rec.hostVeth, { master: net.bridge, mtu: net.mtu, up: true });
    // the container end alone is left over (e.g. returned by Docker after a crash)
    await removeLink(host.nl, rec.containerVeth);
    await create();
  }

  /**
   * An endpoint's host end that a weft of the other layout left where the bridges no longer are (the
   * host's namespace, or the namespace of their own, Namespaces.previous) goes to where they are now (its
   * container keeps its interface); applyEndpoint then puts it on the bridge. true if moved.
   */
  async adoptHostEnd(rec: EndpointRecord): Promise<boolean> {
    const { host, bridges, previous } = this.d.ns;
    const net = this.network(rec.networkId);
    if (!net || isRouted(net)) return false;
    const from = separate(this.d.ns) ? host : previous;
    if (!from) return false;
    if ((await from.nl.getLink(rec.hostVeth))?.kind !== 'veth' || (await bridges.nl.getLink(rec.hostVeth))) return false;
    await from.nl.moveLink(rec.hostVeth, bridges.ref);
    return true;
  }

  /**
   * A spare pair of the network as the endpoint's, or undefined when the pool has none (SparePairs.take).
   * No kernel call on an overlay network (two on a routed one: the endpoint's route and neighbour
   * entry): the spare's container end gets the endpoint's MAC from Docker, which sets it as it moves
   * the interface into the container (as it does for the MAC a fresh pair was made with), and the pool
   * makes the next spare meanwhile.
   */
  private async useSpare(net: NetworkRecord, base: Omit<EndpointRecord, 'hostVeth' | 'containerVeth'>): Promise<EndpointRecord | undefined> {
    const spare = await this.d.spares?.take(net.id);
    const rec = spare && { ...base, ...spare };
    if (!rec || !isRouted(net)) return rec;
    // a routed spare answers ARP already; what names the endpoint is its route and neighbour entry
    try {
      await routeEndpoint(this.d.ns.host.nl, rec);
      return rec;
    } catch (e) {
      this.d.log.warn({ err: e, veth: rec.hostVeth }, 'could not route a spare veth pair; making a pair of the endpoint\'s own');
      await removeLink(this.d.ns.host.nl, rec.hostVeth).catch(() => undefined);
      return undefined;
    }
  }

  /**
   * Kernel first, then the record. The pair goes back to the network's spares when it can
   * (SparePairs.giveBack); else it is deleted here, which waits for the kernel's RCU grace periods
   * (10–20 ms). Deleting in the background after the reply was tried and measured: under
   * back-to-back container churn the deletions queued on the rtnl lock ahead of the spares'
   * refill and the CreateEndpoint p99 went from 8 to 65 ms.
   */
  deleteEndpoint(networkId: string, endpointId: string): Promise<void> {
    return this.lock.run(`ep:${endpointId}`, async () => {
      const rec = this.d.store.get('endpoints', endpointId);
      if (!rec || rec.networkId !== networkId) return;
      await this.removeEndpoint(rec);
    });
  }

  /** resolves once no spare is being made: before the netlink socket closes at stop (a request still out then would never be answered) */
  async settled(): Promise<void> {
    await this.d.spares?.settled();
  }

  join(networkId: string, endpointId: string, sandboxKey: string): Promise<JoinResult> {
    return this.lock.run(`ep:${endpointId}`, async () => {
      const net = this.requireNetwork(networkId);
      const rec = this.requireEndpoint(networkId, endpointId);
      // Docker needs SrcName in the host namespace now; a leftover from a failed start may have lost it
      const fresh = this.unjoined.delete(rec.id);
      if (!fresh && !(await this.d.ns.host.nl.getLink(rec.containerVeth))) {
        await removeLink(hostEndSide(this.d.ns, net).nl, rec.hostVeth);
        await this.applyEndpoint(net, rec).catch((e: unknown) => {
          throw kernelError(`re-create veth ${rec.hostVeth}`, e);
        });
      }
      this.d.store.put('endpoints', rec.id, { ...rec, sandboxKey });
      return { srcName: rec.containerVeth, ...(net.gateway ? { gateway: net.gateway } : {}) };
    });
  }

  leave(networkId: string, endpointId: string): Promise<void> {
    return this.lock.run(`ep:${endpointId}`, async () => {
      const rec = this.d.store.get('endpoints', endpointId);
      if (!rec || rec.networkId !== networkId) return;
      const { sandboxKey: _gone, ...left } = rec;
      this.d.store.put('endpoints', rec.id, left);
    });
  }

  endpoint(networkId: string, endpointId: string): EndpointRecord {
    return this.requireEndpoint(networkId, endpointId);
  }

  private async removeEndpoint(rec: EndpointRecord): Promise<void> {
    // by DeleteEndpoint Docker has moved the container end back out, down, under its first name:
    // the pair can serve the next container of the network
    const net = this.network(rec.networkId);
    const kept = net && this.d.spares && (await this.unrouted(net, rec)) ? await this.d.spares.giveBack(net, { hostVeth: rec.hostVeth, containerVeth: rec.containerVeth }) : false;
    if (!kept) {
      await this.deletePair(rec).catch((e: unknown) => {
        throw kernelError(`delete veth ${rec.hostVeth}`, e);
      });
    }
    this.forget(rec);
  }

  /** a routed endpoint's pair without its route and neighbour entry, fit to be a spare again; true for others */
  private async unrouted(net: NetworkRecord, rec: EndpointRecord): Promise<boolean> {
    if (!isRouted(net)) return true;
    return unrouteEndpoint(this.d.ns.host.nl, rec).then(() => true, () => false);
  }

  private async deletePair(rec: EndpointRecord): Promise<void> {
    // deleting one end of a veth deletes both; the container end alone may be left after a crash
    const net = this.network(rec.networkId);
    const deleted = await removeLink((net ? hostEndSide(this.d.ns, net) : this.d.ns.bridges).nl, rec.hostVeth);
    if (!deleted) await removeLink(this.d.ns.host.nl, rec.containerVeth).catch(() => undefined);
  }

  private forget(rec: EndpointRecord): void {
    this.unjoined.delete(rec.id);
    this.d.store.delete('endpoints', rec.id);
    this.d.onEndpointsChanged?.();
  }

  /** a routed network's traffic is forwarded by the host, in clear: refused where it could not work as asked */
  private async checkRouted(): Promise<void> {
    if (this.d.encrypted) {
      throw new NetworkError('BadRequest', 'weft: a routed network carries container traffic in clear, and this weft encrypts its traffic (--password); use an overlay network (no weft.mode option)');
    }
    // Docker turns forwarding on unless told not to (dockerd --ip-forward=false): weft does not overrule that
    const forward = await this.d.sysctl.get('net/ipv4/ip_forward').catch(() => undefined);
    if (forward === '0') {
      throw new NetworkError('BadRequest', 'weft: a routed network needs IPv4 forwarding on this host, and it is off (sysctl net.ipv4.ip_forward=0); turn it on or use an overlay network');
    }
  }

  private requireNetwork(id: string): NetworkRecord {
    const n = this.network(id);
    if (!n) throw new NetworkError('NoSuchNetwork', `weft: no such network ${id.slice(0, 12)} on this host`);
    return n;
  }

  private requireEndpoint(networkId: string, endpointId: string): EndpointRecord {
    const e = this.d.store.get('endpoints', endpointId);
    if (!e || e.networkId !== networkId) {
      throw new NetworkError('NoSuchEndpoint', `weft: no such endpoint ${endpointId.slice(0, 12)} on network ${networkId.slice(0, 12)}`);
    }
    return e;
  }
}

function kernelError(what: string, e: unknown): Error {
  if (e instanceof NetworkError) return e;
  const detail = e instanceof NetlinkError ? `${e.code}` : e instanceof Error ? e.message : String(e);
  return new NetworkError('Kernel', `weft: could not ${what}: ${detail}`);
}
