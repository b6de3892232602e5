/**
 * The kernel's part of a routed network's plan (plan.ts planRoutes): a /32 route per container on a peer,
 * through that peer's underlay address, with weft's protocol and the remote metric. Reads what is there and
 * changes only the difference; a replace moves a container to its new host in one step. Routes of this
 * host's own containers (the local metric, ../network/routed.ts) are never touched here.
 */
import type { Logger } from 'pino';
import { contains, parseCidr, parseIp } from '../addr/cidr';
import type { Netlink, RouteInfo } from '../netlink/types';
import { REMOTE_METRIC, ROUTE_PROTOCOL } from '../network/routed';
import { KernelSteps } from './kernelSteps';

/** weft's routes to peers' containers in `subnet`: address → gateway */
function remoteRoutes(routes: readonly RouteInfo[], subnet: string): Map<string, string> {
  const net = parseCidr(subnet);
  const out = new Map<string, string>();
  for (const r of routes) {
    if (r.protocol !== ROUTE_PROTOCOL || r.type !== 'unicast' || r.gateway === undefined || r.priority !== REMOTE_METRIC) continue;
    const [ip, prefix] = r.dst.split('/');
    if (prefix === '32' && contains(net, parseIp(ip))) out.set(ip, r.gateway);
  }
  return out;
}

const spec = (ip: string, gateway: string) => ({ dst: `${ip}/32`, gateway, protocol: ROUTE_PROTOCOL, priority: REMOTE_METRIC });

/** makes the kernel's remote routes in `subnet` match `want`; returns the changes made */
export async function applyRoutes(nl: Netlink, subnet: string, want: ReadonlyMap<string, string>, log: Logger): Promise<number> {
  const have = remoteRoutes(await nl.listRoutes(), subnet);
  const steps = new KernelSteps(log, { subnet }, 'could not program a route');
  const step = steps.step.bind(steps);
  for (const [ip, via] of want) {
    if (have.get(ip) !== via) await step(`route ${ip} via ${via}`, () => nl.replaceRoute(spec(ip, via)));
  }
  for (const [ip, via] of have) {
    if (!want.has(ip)) await step(`remove route ${ip} via ${via}`, () => nl.deleteRoute(spec(ip, via)));
  }
  return steps.changes;
}
