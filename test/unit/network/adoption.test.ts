/**
 * After `weft reset` (or a lost state directory) Docker still has weft's
 * networks; a relaunched weft adopts them so `--net` works on them again.
 */
import { formatIp } from '../../../src/addr/cidr';
import { oneNamespace } from '../../../src/network/namespaces';
import type { DockerNetwork } from '../../../src/docker/client';
import { Reconciler, unknownNetworks } from '../../../src/network/reconciler';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';
import { type Harness, startHarness } from '../../helpers/pluginHarness';

const NET = 'c'.repeat(64);
const EP = 'd'.repeat(64);

const dockerNet = (o: Partial<DockerNetwork> = {}): DockerNetwork => ({
  Id: NET, Name: 'app', Driver: 'weft', Internal: false, Options: { 'com.docker.network.driver.mtu': '1400' },
  IPAM: { Driver: 'weft', Config: [{ Subnet: '10.44.0.0/24', Gateway: '10.44.0.1' }] },
  Containers: { ['e'.repeat(64)]: { Name: 'db', EndpointID: 'f'.repeat(64), MacAddress: '02:42:0a:2c:00:07', IPv4Address: '10.44.0.7/24' } },
  ...o,
});

let h: Harness;
beforeEach(async () => (h = await startHarness()));
afterEach(() => h.close());

const reconciler = () => new Reconciler({ networks: h.networks, ipam: h.ipam, ns: oneNamespace(h.netlink, h.netlink.ref()), firewall: h.firewall, clock: new FakeScheduler(), log: silentLogger, driver: 'weft' });
const fromDocker = (nets: DockerNetwork[]) => [async (id: string) => nets.find((n) => n.Id === id), async () => nets] as const;

test('unknownNetworks: only weft-driver networks no record accounts for', () => {
  const nets = [dockerNet(), dockerNet({ Id: 'x', Driver: 'bridge' }), dockerNet({ Id: 'known' })];
  expect(unknownNetworks(nets, [{ id: 'known' } as never], 'weft').map((n) => n.Id)).toEqual([NET]);
});

test('an unknown network gets its pool, gateway, container addresses, record and devices; then Docker\'s calls on it work', async () => {
  expect(await reconciler().adopt(...fromDocker([dockerNet()]))).toEqual(['app']);
  const rec = h.networks.network(NET)!;
  expect(rec).toMatchObject({ subnet: '10.44.0.0/24', mtu: 1400, internal: false });
  expect(await h.netlink.getLink(rec.bridge)).toBeDefined();
  const held = h.ipam.allocations().map((a) => [formatIp(a.allocation.ip), a.allocation.kind]);
  expect(held.sort()).toEqual([['10.44.0.1', 'gateway'], ['10.44.0.7', 'endpoint']]);
  // Docker's next container on it: a fresh address, never the running container's
  const a = await h.call('/IpamDriver.RequestAddress', { PoolID: 'weft:10.44.0.0/24', Address: '', Options: { 'com.docker.network.endpoint.macaddress': '02:42:0a:2c:00:09' } });
  expect(a.json.Address).toMatch(/^10\.44\.0\.\d+\/24$/);
  expect(a.json.Address).not.toBe('10.44.0.7/24');
  const ep = await h.call('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: a.json.Address, AddressIPv6: '', MacAddress: '02:42:0a:2c:00:09' }, Options: {} });
  expect(ep.json).toEqual({});
  const join = await h.call('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  expect(join.json.Gateway).toBe('10.44.0.1');
  // and a second pass has nothing left to adopt
  expect(await reconciler().adopt(...fromDocker([dockerNet()]))).toEqual([]);
});

test('a gateway weft\'s IPAM chose (Docker does not list it): the same one again, before the containers\' addresses', async () => {
  const unlisted = dockerNet({ IPAM: { Driver: 'weft', Config: [{ Subnet: '10.44.0.0/24' }] } });
  expect(await reconciler().adopt(...fromDocker([unlisted]))).toEqual(['app']);
  expect(h.networks.network(NET)?.gateway).toBe('10.44.0.1');
  expect(h.ipam.allocations().map((a) => [formatIp(a.allocation.ip), a.allocation.kind]).sort()).toEqual([['10.44.0.1', 'gateway'], ['10.44.0.7', 'endpoint']]);
  expect((await h.netlink.listAddresses(`wfg${NET.slice(0, 12)}`)).map((a) => a.cidr)).toEqual(['10.44.0.1/24']);
});

test('a network on Docker\'s own IPAM gets a record without a pool; one that cannot be adopted is skipped, the rest still are', async () => {
  const foreignIpam = dockerNet({ Id: 'f1'.padEnd(64, '0'), Name: 'dflt', IPAM: { Driver: 'default', Config: [{ Subnet: '10.45.0.0/24', Gateway: '10.45.0.1' }] }, Containers: {} });
  const clash = dockerNet({ Id: 'f2'.padEnd(64, '0'), Name: 'clash' }); // same subnet as app: refused
  expect(await reconciler().adopt(...fromDocker([dockerNet(), clash, foreignIpam]))).toEqual(['app', 'dflt']);
  expect(h.ipam.allocations().some((a) => formatIp(a.allocation.ip).startsWith('10.45.'))).toBe(false);
  expect(h.networks.network(clash.Id)).toBeUndefined();
  expect(h.networks.network(foreignIpam.Id)?.subnet).toBe('10.45.0.0/24');
});

test('a routed network is adopted routed (weft.mode in Docker\'s options): its gateway on a port-less bridge of its own', async () => {
  expect(await reconciler().adopt(...fromDocker([dockerNet({ Options: { 'weft.mode': 'routed' } })]))).toEqual(['app']);
  const rec = h.networks.network(NET)!;
  expect(rec).toMatchObject({ mode: 'routed', mtu: 1500 });
  expect(await h.netlink.getLink(rec.bridge)).toBeUndefined();
  expect((await h.netlink.getLink(`wfg${NET.slice(0, 12)}`))?.kind).toBe('bridge');
});

test('an MTU option weft would refuse is not taken over: the network gets weft\'s default', async () => {
  expect(await reconciler().adopt(...fromDocker([dockerNet({ Options: { 'com.docker.network.driver.mtu': '9x' } })]))).toEqual(['app']);
  expect(h.networks.network(NET)!.mtu).toBe(1450);
});
