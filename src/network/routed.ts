/**
 * The kernel side of a routed network on this host (model.ts NetworkMode), all in the host's namespace:
 * - the gateway: a bridge with no ports holding the gateway address as a /32 (no connected route for the
 *   subnet); a dummy device would do, but kernels built without CONFIG_DUMMY (this machine's) have none;
 * - the subnet: an unreachable route, so an address no host has fails at once and never follows the
 *   default route off the host;
 * - each endpoint: a veth pair whose host end answers ARP for every other address of the subnet (proxy ARP,
 *   without the kernel's random delay of up to 0.8 s), a /32 route to the container through it, and a
 *   permanent neighbour entry for the container's MAC. Without that entry, traffic that reaches the host before
 *   the container is up (a move: the peers already route its address here) leaves an unanswered ARP request
 *   behind, and the kernel asks again only a second later.
 * Routes to other hosts' containers are the data plane's (../dataplane/routedPlane.ts). Both kinds carry
 * weft's protocol number; a container here is routed with a lower metric than a route to a peer, so the
 * two never overwrite each other while a container moves and the cluster has not yet caught up.
 */
import { isNetlinkError } from '../netlink/errors';
import { ensureAddress, ensureBridge, removeLink, removeNeighbour, removeRoute } from '../netlink/ensure';
import type { Netlink, RouteSpec } from '../netlink/types';
import type { Sysctl } from '../util/sysctl';
import type { EndpointRecord, NetworkRecord } from './model';
import { gatewayName } from './names';

/** rtm_protocol of weft's routes ('W'): what `ip route show proto 87` lists, and what the reconciler owns */
export const ROUTE_PROTOCOL = 87;
/** a container on this host */
export const LOCAL_METRIC = 10;
/** a container on a peer: loses to a local route for the same address */
export const REMOTE_METRIC = 20;

const unreachableRoute = (subnet: string): RouteSpec => ({ dst: subnet, type: 'unreachable', protocol: ROUTE_PROTOCOL });

/** "10.44.0.5/16" → "10.44.0.5" */
const bareIp = (address: string): string => address.split('/')[0]!;

function localRoute(ep: Pick<EndpointRecord, 'address' | 'hostVeth'>): RouteSpec {
  return { dst: `${bareIp(ep.address)}/32`, dev: ep.hostVeth, protocol: ROUTE_PROTOCOL, priority: LOCAL_METRIC };
}

export async function applyRoutedNetwork(nl: Netlink, rec: NetworkRecord): Promise<void> {
  if (rec.gateway) {
    const gw = gatewayName(rec.id);
    await ensureBridge(nl, { name: gw, mtu: rec.mtu, up: true });
    await ensureAddress(nl, gw, `${rec.gateway}/32`);
  }
  await nl.replaceRoute(unreachableRoute(rec.subnet));
}

/** the gateway device and the subnet's unreachable route; the endpoints and the data plane's routes are theirs */
export async function unapplyRoutedNetwork(nl: Netlink, rec: NetworkRecord): Promise<void> {
  await removeLink(nl, gatewayName(rec.id));
  await removeRoute(nl, unreachableRoute(rec.subnet));
}

/** the pair exists, its host end up, answering ARP for the subnet, and routed to (idempotent) */
export async function applyRoutedEndpoint(nl: Netlink, sysctl: Sysctl, net: NetworkRecord, rec: EndpointRecord): Promise<void> {
  try {
    await nl.createVeth({ name: rec.hostVeth, peerName: rec.containerVeth, mtu: net.mtu, peerMac: rec.mac, up: true });
  } catch (e) {
    if (!isNetlinkError(e, 'EEXIST')) throw e;
    if (await nl.getLink(rec.hostVeth)) {
      await nl.setLink(rec.hostVeth, { mtu: net.mtu, up: true });
    } else {
      // the container end alone is left over (e.g. returned by Docker after a crash)
      await removeLink(nl, rec.containerVeth);
      await nl.createVeth({ name: rec.hostVeth, peerName: rec.containerVeth, mtu: net.mtu, peerMac: rec.mac, up: true });
    }
  }
  await answerArp(sysctl, rec.hostVeth);
  await routeEndpoint(nl, rec);
}

/** a routed network's spare pair (./sparePairs.ts): made as an endpoint's is, less what names the endpoint */
export async function makeRoutedSpare(nl: Netlink, sysctl: Sysctl, net: NetworkRecord, names: { hostVeth: string; containerVeth: string }): Promise<void> {
  await nl.createVeth({ name: names.hostVeth, peerName: names.containerVeth, mtu: net.mtu, up: true });
  await answerArp(sysctl, names.hostVeth).catch(async (e: unknown) => {
    await removeLink(nl, names.hostVeth).catch(() => undefined);
    throw e;
  });
}

/** proxy ARP on a host end, answered at once */
async function answerArp(sysctl: Sysctl, dev: string): Promise<void> {
  await sysctl.set(`net/ipv4/conf/${dev}/proxy_arp`, '1');
  await sysctl.set(`net/ipv4/neigh/${dev}/proxy_delay`, '0');
}

/** what names the endpoint on its host end: the /32 route to it and its MAC */
export async function routeEndpoint(nl: Netlink, rec: EndpointRecord): Promise<void> {
  await nl.replaceRoute(localRoute(rec));
  await nl.setNeighbour({ dev: rec.hostVeth, ip: bareIp(rec.address), mac: rec.mac });
}

/** takes that away again, so the pair can serve another endpoint as a spare */
export async function unrouteEndpoint(nl: Netlink, rec: EndpointRecord): Promise<void> {
  await removeRoute(nl, localRoute(rec));
  await removeNeighbour(nl, { dev: rec.hostVeth, ip: bareIp(rec.address) });
}
