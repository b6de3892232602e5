import type { DockerNetwork } from '../../../src/docker/client';
import type { EndpointRecord, NetworkRecord } from '../../../src/network/model';
import { orphanDevices, orphanRoutes, staleEndpoints, wantedDevices } from '../../../src/network/reconciler';

const net: NetworkRecord = { id: 'n1', bridge: 'weft-n1', subnet: '10.40.0.0/24', gateway: '10.40.0.1', mtu: 1450, mac: '7a:18:0a:28:00:00', internal: false, createdAt: 0 };
const ep = (id: string, createdAt = 0): EndpointRecord => ({ id, networkId: 'n1', hostVeth: `wfh${id}`, containerVeth: `wfc${id}`, address: '10.40.0.2/24', mac: '02:42:0a:28:00:02', createdAt });

test('orphan devices: weft-named and unrecorded only', () => {
  const names = ['lo', 'eth0', 'docker0', 'weft-n1', 'weft-gone', 'wfhe1', 'wfce1', 'wfhe2', 'wfce9', 'vethabc', 'wfgn1', 'wfbn1', 'wfgx', 'wfprobe'];
  const wanted = wantedDevices([net], [ep('e1')], (n) => ({ host: [`wfg${n.id}`], bridges: [n.bridge, `wfb${n.id}`] }));
  expect(orphanDevices(names, new Set([...wanted.host, ...wanted.bridges]))).toEqual(['weft-gone', 'wfhe2', 'wfce9', 'wfgx']);
});

test('wanted devices by namespace: container ends and gateways in the host, bridges and host ends in the bridges\'', () => {
  const wanted = wantedDevices([net], [ep('e1')], (n) => ({ host: [`wfg${n.id}`], bridges: [n.bridge, `wfb${n.id}`] }));
  expect([...wanted.host].sort()).toEqual(['wfce1', 'wfgn1', 'wfprobe']);
  expect([...wanted.bridges].sort()).toEqual(['weft-n1', 'wfbn1', 'wfhe1']);
  // a bridge or a host end in the host's namespace is an orphan there (left by a weft that kept them in it)
  expect(orphanDevices(['weft-n1', 'wfhe1', 'wfce1', 'wfgn1'], wanted.host)).toEqual(['weft-n1', 'wfhe1']);
  expect(orphanDevices(['weft-n1', 'wfhe1', 'wfce1', 'wfgn1'], wanted.bridges)).toEqual(['wfce1', 'wfgn1']);
});

test('a routed network\'s host ends are wanted in the host\'s namespace, an overlay network\'s on the bridges\'', () => {
  const routed: NetworkRecord = { ...net, id: 'r1', bridge: 'weft-r1', subnet: '10.44.0.0/16', mode: 'routed' };
  const rep: EndpointRecord = { ...ep('e2'), networkId: 'r1' };
  const wanted = wantedDevices([net, routed], [ep('e1'), rep], (n) => (n.mode === 'routed' ? { host: [`wfg${n.id}`], bridges: [] } : { host: [`wfg${n.id}`], bridges: [n.bridge] }));
  expect([...wanted.host].sort()).toEqual(['wfce1', 'wfce2', 'wfgn1', 'wfgr1', 'wfhe2', 'wfprobe']);
  expect([...wanted.bridges].sort()).toEqual(['weft-n1', 'wfhe1']);
});

test('orphan routes: weft\'s protocol outside every routed subnet; others\' routes and overlay subnets are not weft\'s to keep', () => {
  const routed: NetworkRecord = { ...net, id: 'r1', subnet: '10.44.0.0/16', mode: 'routed' };
  const r = (dst: string, protocol = 87, extra = {}) => ({ dst, protocol, table: 254, type: 'unicast' as const, ...extra });
  const routes = [
    r('10.44.0.0/16', 87, { type: 'unreachable' }), r('10.44.3.4/32', 87, { gateway: '192.168.91.2' }), r('10.44.3.5/32', 87, { ifindex: 9 }),
    r('10.45.0.0/16', 87, { type: 'unreachable' }), r('10.45.0.9/32', 87, { gateway: '192.168.91.2' }),
    r('10.40.0.0/24', 87, { type: 'unreachable' }), r('10.46.0.0/16', 4), r('0.0.0.0/0', 3, { gateway: '192.168.91.254' }),
  ];
  expect(orphanRoutes(routes, [net, routed]).map((x) => x.dst)).toEqual(['10.45.0.0/16', '10.45.0.9/32', '10.40.0.0/24']);
  expect(orphanRoutes(routes, []).map((x) => x.dst)).toEqual(['10.44.0.0/16', '10.44.3.4/32', '10.44.3.5/32', '10.45.0.0/16', '10.45.0.9/32', '10.40.0.0/24']);
});

test('stale endpoints: Docker lists the network but not the endpoint, past the grace', () => {
  const docker = new Map<string, DockerNetwork | undefined>([
    ['n1', { Id: 'n1', Name: 'x', Driver: 'weft', IPAM: { Driver: 'weft', Config: [] }, Containers: { c1: { Name: 'c', EndpointID: 'e1', MacAddress: '', IPv4Address: '10.40.0.2/24' } } }],
  ]);
  const eps = [ep('e1'), ep('e2'), ep('e3', 100_000)];
  expect(staleEndpoints(eps, docker, 120_000, 60_000).map((e) => e.id)).toEqual(['e2']);
  // a network Docker was not asked about: nothing is stale
  expect(staleEndpoints(eps, new Map(), 1e9)).toEqual([]);
  // a network Docker no longer has: all its endpoints are stale
  expect(staleEndpoints(eps, new Map([['n1', undefined]]), 1e9).map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
});
