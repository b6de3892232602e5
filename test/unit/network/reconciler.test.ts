import type { DockerNetwork } from '../../../src/docker/client';
import type { EndpointRecord, NetworkRecord } from '../../../src/network/model';
import { orphanDevices, staleEndpoints, wantedDevices } from '../../../src/network/reconciler';

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
