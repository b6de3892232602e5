/**
 * The kernel's part of a routed network's plan (plan.ts planRoutes): a /32 route per container on a peer,
 * through that peer's underlay address, with weft's protocol and the remote metric. Reads what is there and
 * changes only the difference; a replace moves a container to its new host in one step. Routes of this
 * host's own containers (the local metric, ../network/routed.ts) are never touched here. A peer whose
 * underlay address is not on one of this host's links (a router between them) cannot be a route's gateway:
 * its containers get none, and the caller is told which addresses those were, to say so once rather
 * than have the kernel refuse every pass.
 */
import type { Logger } from 'pino';
import { type Cidr, contains, parseCidr, parseIp } from '../addr/cidr';
import type { Netlink, RouteInfo } from '../netlink/types';
import { REMOTE_METRIC, ROUTE_PROTOCOL } from '../network/routed';
import { KernelSteps } from './kernelSteps';

/** the container address a route of weft's leads to, if it is one: a unicast /32 with weft's protocol inside `net`. Pure. */
export function containerRoute(r: RouteInfo, net: Cidr): string | undefined {
  if (r.protocol !== ROUTE_PROTOCOL || r.type !== 'unicast') return undefined;
  const [ip, prefix] = r.dst.split('/');
  return prefix === '32' && ip !== undefined && contains(net, parseIp(ip)) ? ip : undefined;
}

/** weft's routes to peers' containers in `subnet`: address → gateway */
function remoteRoutes(routes: readonly RouteInfo[], subnet: string): Map<string, string> {
  const net = parseCidr(subnet);
  const out = new Map<string, string>();
  for (const r of routes) {
    if (r.gateway === undefined || r.priority !== REMOTE_METRIC) continue;
    const ip = containerRoute(r, net);
    if (ip !== undefined) out.set(ip, r.gateway);
  }
  return out;
}

/** the kernel takes `via` as a gateway only on a link: inside a route of this host with no gateway of its own. Pure. */
export function onLink(routes: readonly RouteInfo[], via: string): boolean {
  const ip = parseIp(via);
  return routes.some((r) => r.type === 'unicast' && r.gateway === undefined && r.ifindex !== undefined && r.dst !== '0.0.0.0/0' && contains(parseCidr(r.dst), ip));
}

const spec = (ip: string, gateway: string) => ({ dst: `${ip}/32`, gateway, protocol: ROUTE_PROTOCOL, priority: REMOTE_METRIC });

/**
 * makes the kernel's remote routes in `subnet` match `want`, less those through a gateway off this host's
 * links; returns the changes made and the gateways left out
 */
export async function applyRoutes(
  nl: Netlink, subnet: string, want: ReadonlyMap<string, string>, log: Logger,
): Promise<{ changes: number; offLink: Set<string> }> {
  const routes = await nl.listRoutes();
  const have = remoteRoutes(routes, subnet);
  const steps = new KernelSteps(log, { subnet }, 'could not program a route');
  const step = steps.step.bind(steps);
  const offLink = new Set<string>();
  for (const [ip, via] of want) {
    if (!onLink(routes, via)) {
      offLink.add(via);
      continue;
    }
    if (have.get(ip) !== via) await step(`route ${ip} via ${via}`, () => nl.replaceRoute(spec(ip, via)));
  }
  for (const [ip, via] of have) {
    if (!want.has(ip) || offLink.has(via)) await step(`remove route ${ip} via ${via}`, () => nl.deleteRoute(spec(ip, via)));
  }
  return { changes: steps.changes, offLink };
}
