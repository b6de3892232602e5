/**
 * Brings the kernel and weft's records back in line after a crash or a dockerd
 * restart. At start: every recorded network and endpoint gets its devices,
 * devices of weft's naming with no record go. Against Docker (never inside a
 * plugin call): endpoints Docker no longer has, and addresses no container
 * holds, are released after a grace period (Docker may still be mid-create);
 * once after launch, Docker networks of weft's driver that weft has no record
 * of (its state was reset or lost) are adopted, so `--net` works on them again.
 */
import type { Logger } from 'pino';
import { type DockerNetwork, MODE_OPTION, MTU_OPTION } from '../docker/client';
import type { Ipam } from '../ipam/ipam';
import { containsCidr, formatCidr, formatIp, parseCidr, parseIp } from '../addr/cidr';
import { removeLink, removeRoute } from '../netlink/ensure';
import type { RouteInfo } from '../netlink/types';
import type { Firewall } from '../firewall/types';
import type { Clock } from '../util/clock';
import { type EndpointRecord, isRouted, type NetworkRecord, parseMode } from './model';
import { parseMtu } from './mtu';
import { type Namespaces, separate, type Side } from './namespaces';
import { BRIDGE_PREFIX, isWeftDevice, PROBE_DEVICE } from './names';
import type { Networks } from './networks';
import { ROUTE_PROTOCOL } from './routed';

export const GRACE_MS = 60_000;

export interface WantedDevices { host: ReadonlySet<string>; bridges: ReadonlySet<string> }

/** the devices the records account for, by the namespace they live in. Pure. */
export function wantedDevices(
  networks: readonly NetworkRecord[],
  endpoints: readonly EndpointRecord[],
  networkDevices: (n: NetworkRecord) => { host: string[]; bridges: string[] },
): WantedDevices {
  const per = networks.map(networkDevices);
  // a routed network's host ends are in the host's namespace (./routed.ts)
  const routed = new Set(networks.filter(isRouted).map((n) => n.id));
  const hostEnds = (inHost: boolean) => endpoints.filter((e) => routed.has(e.networkId) === inHost).map((e) => e.hostVeth);
  return {
    // the probe device is the data plane's own, made at start when the fast path is on
    host: new Set([...per.flatMap((d) => d.host), ...endpoints.map((e) => e.containerVeth), ...hostEnds(true), PROBE_DEVICE]),
    bridges: new Set([...per.flatMap((d) => d.bridges), ...hostEnds(false)]),
  };
}

/** weft's routes (by protocol) outside every routed network's subnet: left by a network deleted in a crash. Pure. */
export function orphanRoutes(routes: readonly RouteInfo[], networks: readonly NetworkRecord[]): RouteInfo[] {
  const subnets = networks.filter(isRouted).map((n) => parseCidr(n.subnet));
  return routes.filter((r) => r.protocol === ROUTE_PROTOCOL && !subnets.some((s) => containsCidr(s, parseCidr(r.dst))));
}

/** names of weft-made devices in a namespace that no record accounts for there. Pure. */
export function orphanDevices(deviceNames: readonly string[], wanted: ReadonlySet<string>): string[] {
  return deviceNames.filter((n) => isWeftDevice(n) && !wanted.has(n));
}

/** endpoints of networks Docker knows whose EndpointID Docker no longer lists, past the grace period. Pure. */
export function staleEndpoints(
  endpoints: readonly EndpointRecord[],
  docker: ReadonlyMap<string, DockerNetwork | undefined>,
  now: number,
  graceMs = GRACE_MS,
): EndpointRecord[] {
  return endpoints.filter((e) => {
    if (!docker.has(e.networkId) || now - e.createdAt < graceMs) return false;
    const net = docker.get(e.networkId);
    const live = new Set(Object.values(net?.Containers ?? {}).map((c) => c.EndpointID));
    return !live.has(e.id);
  });
}

/** Docker networks of weft's driver that no record accounts for. Pure. */
export function unknownNetworks(docker: readonly DockerNetwork[], known: readonly NetworkRecord[], driver: string): DockerNetwork[] {
  const ids = new Set(known.map((n) => n.id));
  return docker.filter((n) => n.Driver === driver && !ids.has(n.Id));
}


export class Reconciler {
  constructor(
    /** driver: the name Docker knows weft by, as network and as IPAM driver */
    private readonly d: { networks: Networks; ipam: Ipam; ns: Namespaces; firewall: Firewall; clock: Clock; log: Logger; driver: string },
  ) {}

  /**
   * Takes back Docker's weft networks that weft has no record of: the pool, its
   * gateway and the addresses of this host's containers (as far as the cluster
   * lets this peer have them), then the network and its devices. Run once after
   * launch, before any removal can be in flight (a network Docker lists while
   * weft's DeleteNetwork runs must not come back). Returns the adopted names.
   */
  async adopt(fetchNetwork: (id: string) => Promise<DockerNetwork | undefined>, allNetworks: () => Promise<DockerNetwork[]>): Promise<string[]> {
    const { networks, ipam, log } = this.d;
    const adopted: string[] = [];
    for (const dn of unknownNetworks(await allNetworks(), networks.networks(), this.d.driver)) {
      const full = (await fetchNetwork(dn.Id)) ?? dn;
      const cfg = (full.IPAM.Config ?? [])[0];
      if (!cfg?.Subnet) continue;
      try {
        const subnet = parseCidr(cfg.Subnet);
        let gateway = cfg.Gateway;
        if (full.IPAM.Driver === this.d.driver) {
          const { poolId } = ipam.requestPool({ pool: cfg.Subnet, subPool: cfg.IPRange ?? '', v6: false });
          // Docker lists a gateway only when it was given one (--gateway); else weft's IPAM chose it, by a rule
          // that gives the same address again, before any container's
          const gw = await ipam.requestAddress({ poolId, address: cfg.Gateway ?? '', gateway: true });
          gateway = gw.address.split('/')[0];
          for (const c of Object.values(full.Containers ?? {})) {
            const address = c.IPv4Address.split('/')[0];
            await ipam.requestAddress({ poolId, address, gateway: false, mac: c.MacAddress })
              .catch((e: unknown) => log.warn({ err: e, network: full.Name, address, container: c.Name }, 'could not take back a container\'s address'));
          }
        }
        // as the plugin took it when the network was made; a value Docker holds that weft would refuse gets weft's default
        const mtu = parseMtu(full.Options?.[MTU_OPTION]);
        const mode = parseMode(full.Options?.[MODE_OPTION]);
        await networks.createNetwork({
          id: full.Id,
          subnet,
          ...(gateway ? { gateway: { ip: parseIp(gateway), prefix: subnet.prefix } } : {}),
          ...(mtu !== undefined ? { mtu } : {}),
          internal: full.Internal === true,
          ...(mode ? { mode } : {}),
        });
        log.info({ network: full.Name, subnet: cfg.Subnet }, 'adopted a Docker network weft had no record of');
        adopted.push(full.Name);
      } catch (e) {
        log.warn({ err: e, network: full.Name }, 'could not adopt a Docker network weft has no record of');
      }
    }
    return adopted;
  }

  /**
   * At start: host ends a weft of the other layout left where the bridges no longer are move to where
   * they are (their containers keep their interfaces); devices no record accounts for go, in each
   * namespace, and every weft device in a previous namespace of the bridges (before anything is made:
   * that layout's VXLAN device would hold the VNI a new one needs); then every network and endpoint
   * gets its devices.
   */
  async kernel(): Promise<void> {
    const { networks, ns, log } = this.d;
    for (const ep of networks.endpoints()) {
      if (await networks.adoptHostEnd(ep).catch((e: unknown) => log.error({ err: e, veth: ep.hostVeth }, 'could not move a veth into the bridges\' namespace'))) {
        log.info({ veth: ep.hostVeth }, 'moved a container\'s veth into the bridges\' namespace');
      }
    }
    const wanted = wantedDevices(networks.networks(), networks.endpoints(), (n) => networks.deviceNames(n));
    const sides: [Side, ReadonlySet<string>][] = separate(ns)
      ? [[ns.host, wanted.host], [ns.bridges, wanted.bridges]]
      : [[ns.host, new Set([...wanted.host, ...wanted.bridges])], ...(ns.previous ? [[ns.previous, new Set<string>()] as [Side, ReadonlySet<string>]] : [])];
    for (const [side, want] of sides) {
      for (const name of orphanDevices((await side.nl.listLinks()).map((l) => l.name), want)) {
        log.info({ device: name, netns: side.ref.path }, 'removing device left from an earlier run');
        await removeLink(side.nl, name).catch((e: unknown) => log.warn({ err: e, device: name }, 'could not remove device'));
        if (name.startsWith(BRIDGE_PREFIX)) await this.d.firewall.revokeBridge(name).catch(() => undefined);
      }
    }
    for (const r of orphanRoutes(await ns.host.nl.listRoutes(), networks.networks())) {
      log.info({ route: r.dst, via: r.gateway }, 'removing route left from an earlier run');
      await removeRoute(ns.host.nl, { dst: r.dst, ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.type === 'unreachable' ? { type: 'unreachable' as const } : {}) })
        .catch((e: unknown) => log.warn({ err: e, route: r.dst }, 'could not remove route'));
    }
    // before any network is applied: a rule of a network being made must not look like an orphan
    const routedNow = new Set(networks.networks().filter(isRouted).map((n) => n.subnet));
    for (const subnet of await this.d.firewall.routedSubnets().catch(() => [])) {
      if (routedNow.has(subnet)) continue;
      log.info({ subnet }, 'removing firewall rule left from an earlier run');
      await this.d.firewall.revokeSubnet(subnet).catch((e: unknown) => log.warn({ err: e, subnet }, 'could not remove firewall rule'));
    }
    for (const net of networks.networks()) {
      await networks.applyNetwork(net).catch((e: unknown) => log.error({ err: e, bridge: net.bridge }, 'could not restore bridge'));
    }
    for (const ep of networks.endpoints()) {
      const net = networks.network(ep.networkId);
      if (!net) continue;
      // a joined endpoint's container end is inside the container: only the host end is ours to check
      await networks.applyEndpoint(net, ep).catch((e: unknown) => log.error({ err: e, veth: ep.hostVeth }, 'could not restore veth'));
    }
  }

  /**
   * the rules Docker may have dropped (a dockerd restart re-creates its chains): routed networks' always,
   * bridges' only when the bridges are in the host's namespace
   */
  async firewall(): Promise<void> {
    for (const net of this.d.networks.networks()) {
      if (isRouted(net)) {
        await this.d.firewall.allowSubnet(net.subnet).catch((e: unknown) => this.d.log.warn({ err: e, subnet: net.subnet }, 'could not ensure firewall rule'));
        continue;
      }
      if (separate(this.d.ns)) continue;
      await this.d.firewall.allowBridge(net).catch((e: unknown) => this.d.log.warn({ err: e, bridge: net.bridge }, 'could not ensure firewall rule'));
    }
  }

  /** one pass against Docker's view of weft's networks */
  async docker(fetchNetwork: (id: string) => Promise<DockerNetwork | undefined>, allNetworks: () => Promise<DockerNetwork[]>): Promise<void> {
    const { networks, ipam, clock, log } = this.d;
    const view = new Map<string, DockerNetwork | undefined>();
    for (const n of networks.networks()) view.set(n.id, await fetchNetwork(n.id));
    for (const [id, dn] of view) {
      if (dn === undefined && clock.now() - (networks.network(id)?.createdAt ?? 0) > GRACE_MS) {
        log.info({ network: id }, 'Docker no longer has this network; removing it');
        await networks.deleteNetwork(id);
      }
    }
    for (const ep of staleEndpoints(networks.endpoints(), view, clock.now())) {
      log.info({ endpoint: ep.id, address: ep.address }, 'Docker no longer has this endpoint; removing it');
      await networks.deleteEndpoint(ep.networkId, ep.id);
    }
    // addresses held for endpoints that no container on a weft-IPAM network has
    const held = new Set<string>();
    const subnets = new Set<string>();
    for (const dn of await allNetworks()) {
      if (dn.IPAM.Driver !== this.d.driver) continue;
      for (const c of dn.IPAM.Config ?? []) if (c.Subnet) subnets.add(c.Subnet);
      const full = await fetchNetwork(dn.Id);
      for (const c of Object.values(full?.Containers ?? {})) held.add(c.IPv4Address.split('/')[0]);
    }
    for (const { poolId, subnet, allocation } of ipam.allocations()) {
      if (allocation.kind !== 'endpoint' || !subnets.has(formatCidr(subnet))) continue;
      if (clock.now() - allocation.at < GRACE_MS || held.has(formatIp(allocation.ip))) continue;
      log.info({ address: formatIp(allocation.ip) }, 'no container holds this address; releasing it');
      ipam.releaseAddress(poolId, formatIp(allocation.ip));
    }
  }
}
