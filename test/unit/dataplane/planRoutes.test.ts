import type { ClusterEndpoint } from '../../../src/network/endpointTable';
import { type Path, planRoutes } from '../../../src/dataplane/plan';
import { onLink } from '../../../src/dataplane/routedPlane';
import type { RouteInfo } from '../../../src/netlink/types';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const D = 'dddddddddddddddd';
const SUBNET = '10.44.0.0/16';
const ips: Record<string, string | undefined> = { [A]: '192.168.91.1', [B]: '192.168.91.2', [C]: '192.168.91.3', [D]: undefined };

const ep = (host: string, n: number, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({
  id: `e${host[0]}${n}`, subnet: SUBNET, ip: `10.44.0.${n}`, mac: `02:42:0a:2c:00:${n.toString(16).padStart(2, '0')}`, host, since: 1000, ...extra,
});

const fast: Path = { mode: 'fastdp' };
const plan = (endpoints: ClusterEndpoint[], paths: Record<string, Path>, gateway?: string) => planRoutes({
  self: A, subnet: SUBNET, endpoints, ...(gateway ? { gateway } : {}),
  path: (p) => paths[p] ?? { mode: 'unreachable' },
  underlayIp: (p) => ips[p],
});

describe('planRoutes', () => {
  test('each container on a peer heard directly is routed through that peer\'s underlay address', () => {
    const p = plan([ep(B, 3), ep(C, 4), ep(B, 5)], { [B]: fast, [C]: { mode: 'sleeve' } });
    expect([...p].sort()).toEqual([['10.44.0.3', ips[B]], ['10.44.0.4', ips[C]], ['10.44.0.5', ips[B]]]);
  });

  test('ours, the gateway, other subnets, relayed, unreachable and address-less peers get no route', () => {
    const p = plan(
      [ep(A, 2), ep(B, 1), ep(B, 6, { subnet: '10.45.0.0/16', ip: '10.45.0.6' }), ep(C, 7), ep(D, 8)],
      { [B]: fast, [C]: { mode: 'relay', via: B }, [D]: fast },
      '10.44.0.1',
    );
    expect([...p]).toEqual([]);
  });

  test('a move in flight: ours wins over the old host; between two peers the newer wins', () => {
    expect([...plan([ep(A, 9, { since: 1 }), ep(B, 9, { since: 2 })], { [B]: fast })]).toEqual([]);
    const p = plan([ep(B, 9, { since: 1 }), ep(C, 9, { since: 2 })], { [B]: fast, [C]: fast });
    expect([...p]).toEqual([['10.44.0.9', ips[C]]]);
  });
});

describe('onLink: whether the kernel takes an address as a gateway', () => {
  const r = (dst: string, extra: Partial<RouteInfo> = {}): RouteInfo => ({ dst, table: 254, protocol: 2, type: 'unicast', ifindex: 2, ...extra });
  const routes = [
    r('192.168.91.0/24'), r('0.0.0.0/0', { gateway: '192.168.91.254', protocol: 3 }), r('10.99.0.0/16', { gateway: '192.168.91.254' }),
    r('172.20.0.7/32', { protocol: 3 }), r('10.44.0.0/16', { type: 'unreachable', ifindex: undefined, protocol: 87 }),
  ];
  test('inside a route with no gateway of its own: yes; behind a router, or only under the default route or an unreachable one: no', () => {
    expect(onLink(routes, '192.168.91.3')).toBe(true);
    expect(onLink(routes, '172.20.0.7')).toBe(true);
    expect(onLink(routes, '10.99.0.4')).toBe(false);
    expect(onLink(routes, '8.8.8.8')).toBe(false);
    expect(onLink(routes, '10.44.0.9')).toBe(false);
    expect(onLink([], '192.168.91.3')).toBe(false);
  });
});
