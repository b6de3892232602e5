/**
 * Routed networks (-o weft.mode=routed) through the plugin API on the fake kernel: no bridge, a port-less one holding
 * the gateway as a /32, the subnet unreachable, each endpoint's host end in the host's namespace answering ARP
 * for the subnet and routed to, in either layout of the bridges; and nothing left after.
 */
import { type Harness, removalCalls, startHarness } from '../../helpers/pluginHarness';
import { LOCAL_METRIC, ROUTE_PROTOCOL } from '../../../src/network/routed';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const MAC = '02:42:0a:2c:00:32';
const SUBNET = '10.44.0.0/16';

let h: Harness;
afterEach(() => h.close());

async function createNetwork(generic: Record<string, unknown>, id = NET) {
  const pool = await h.call('/IpamDriver.RequestPool', { AddressSpace: 'weft-local', Pool: SUBNET, SubPool: '', Options: {}, V6: false });
  const poolId = pool.json.PoolID as string;
  const gw = await h.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  const created = await h.call('/NetworkDriver.CreateNetwork', {
    NetworkID: id, Options: { 'com.docker.network.generic': generic }, IPv4Data: [{ AddressSpace: 'weft-local', Gateway: gw.json.Address, Pool: SUBNET }], IPv6Data: [],
  });
  return { poolId, created };
}

async function runContainer(poolId: string, address: string, ep = EP, mac = MAC) {
  const a = await h.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: address, Options: { 'com.docker.network.endpoint.macaddress': mac } });
  const endpoint = await h.call('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: ep, Interface: { Address: a.json.Address, AddressIPv6: '', MacAddress: mac } });
  const join = await h.call('/NetworkDriver.Join', { NetworkID: NET, EndpointID: ep, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  return { endpoint, join };
}

const weftRoutes = async () => (await h.netlink.listRoutes()).filter((r) => r.protocol === ROUTE_PROTOCOL);

describe.each([false, true])('a routed network; the bridges in a namespace of their own: %s', (separate) => {
  beforeEach(async () => (h = await startHarness({ separate })));

  test('the whole lifecycle: the gateway on a port-less bridge, unreachable subnet, proxy-ARP host end routed to; nothing left after', async () => {
    const { poolId, created } = await createNetwork({ 'weft.mode': 'routed' });
    expect(created.json).toEqual({});
    expect(h.networks.network(NET)).toMatchObject({ mode: 'routed', mtu: 1500, subnet: SUBNET });
    const gw = await h.netlink.getLink(`wfg${NET.slice(0, 12)}`);
    expect(gw).toMatchObject({ kind: 'bridge', up: true, mtu: 1500 });
    expect(await h.netlink.listAddresses(gw!.name)).toEqual([{ ifindex: gw!.index, cidr: '10.44.0.1/32' }]);
    expect(await weftRoutes()).toEqual([expect.objectContaining({ dst: SUBNET, type: 'unreachable' })]);
    // no bridge for containers anywhere, and the subnet let through FORWARD
    expect((await h.bridges.listLinks()).filter((l) => l.name.startsWith('weft-'))).toEqual([]);
    expect((await h.netlink.listLinks()).filter((l) => l.name.startsWith('weft-'))).toEqual([]);
    expect([...h.firewall.subnets]).toEqual([SUBNET]);
    expect(h.firewall.allowed.size).toBe(0);

    const c = await runContainer(poolId, '10.44.0.50');
    expect(c.endpoint.json).toEqual({});
    expect(c.join.json).toEqual({ InterfaceName: { SrcName: `wfc${EP.slice(0, 12)}`, DstPrefix: 'eth' }, Gateway: '10.44.0.1' });
    const hostEnd = await h.netlink.getLink(`wfh${EP.slice(0, 12)}`);
    expect(hostEnd).toMatchObject({ kind: 'veth', up: true, mtu: 1500 });
    expect(hostEnd?.masterIndex).toBeUndefined();
    expect((await h.netlink.getLink(`wfc${EP.slice(0, 12)}`))?.mac).toBe(MAC);
    expect(h.sysctl.values.get(`net/ipv4/conf/${hostEnd!.name}/proxy_arp`)).toBe('1');
    expect(h.sysctl.values.get(`net/ipv4/neigh/${hostEnd!.name}/proxy_delay`)).toBe('0');
    expect(await weftRoutes()).toContainEqual(expect.objectContaining({ dst: '10.44.0.50/32', ifindex: hostEnd!.index, priority: LOCAL_METRIC }));
    // the container's MAC is known: the host never has to ask for it
    expect(await h.netlink.listNeighbours(hostEnd!.name)).toEqual([{ ifindex: hostEnd!.index, ip: '10.44.0.50', mac: MAC, state: 0x80 }]);

    const teardown = removalCalls({ network: NET, endpoint: EP, poolId, address: '10.44.0.50', gateway: '10.44.0.1' });
    expect(await h.callAll(teardown)).toEqual(teardown.map(() => ({ status: 200, json: {} })));
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect((await h.bridges.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(await weftRoutes()).toEqual([]);
    expect(h.firewall.subnets.size).toBe(0);
    expect(h.networks.networks()).toEqual([]);
  });

  test('a container arriving takes its address over from a route to a peer, and that route stays below it', async () => {
    const { poolId } = await createNetwork({ 'weft.mode': 'routed' });
    // the data plane's route to the container's old host, as before a move (an on-link underlay for the fake)
    await h.netlink.createBridge({ name: 'under0' });
    await h.netlink.setLink('under0', { up: true });
    await h.netlink.addAddress('under0', '192.168.91.1/24');
    await h.netlink.replaceRoute({ dst: '10.44.0.60/32', gateway: '192.168.91.2', protocol: ROUTE_PROTOCOL, priority: 20 });
    await runContainer(poolId, '10.44.0.60');
    const hostEnd = await h.netlink.getLink(`wfh${EP.slice(0, 12)}`);
    const to60 = (await weftRoutes()).filter((r) => r.dst === '10.44.0.60/32');
    expect(to60).toEqual(expect.arrayContaining([
      expect.objectContaining({ ifindex: hostEnd!.index, priority: LOCAL_METRIC }),
      expect.objectContaining({ gateway: '192.168.91.2', priority: 20 }),
    ]));
  });

  test('a Join after a failed start re-creates a lost pair in the host\'s namespace, routed again', async () => {
    const { poolId } = await createNetwork({ 'weft.mode': 'routed' });
    await runContainer(poolId, '10.44.0.70');
    await h.netlink.deleteLink(`wfh${EP.slice(0, 12)}`);
    expect(await weftRoutes()).not.toContainEqual(expect.objectContaining({ dst: '10.44.0.70/32' }));
    const again = await h.call('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/x', Options: {} });
    expect(again.json).toMatchObject({ InterfaceName: { SrcName: `wfc${EP.slice(0, 12)}` } });
    const hostEnd = await h.netlink.getLink(`wfh${EP.slice(0, 12)}`);
    expect(await weftRoutes()).toContainEqual(expect.objectContaining({ dst: '10.44.0.70/32', ifindex: hostEnd!.index }));
  });
});

describe('bad input', () => {
  beforeEach(async () => (h = await startHarness()));

  test('an unknown weft.mode is refused in Err, naming the two modes, and makes nothing', async () => {
    const { created } = await createNetwork({ 'weft.mode': 'tunnel' });
    expect(created.json.Err).toMatch(/bad weft.mode "tunnel": overlay .* or routed/);
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(await weftRoutes()).toEqual([]);
    expect(h.networks.networks()).toEqual([]);
  });

  test('with a password, a routed network is refused in Err (its traffic would cross in clear), and makes nothing', async () => {
    await h.close();
    h = await startHarness({ encrypted: true });
    const { created } = await createNetwork({ 'weft.mode': 'routed' });
    expect(created.json.Err).toMatch(/routed network carries container traffic in clear.*--password/);
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(h.networks.networks()).toEqual([]);
    // an overlay network is fine
    await h.call('/IpamDriver.ReleasePool', { PoolID: `weft:${SUBNET}` });
    expect((await createNetwork({})).created.json).toEqual({});
  });

  test('with IPv4 forwarding off on the host, a routed network is refused in Err naming the sysctl, and makes nothing', async () => {
    await h.close();
    h = await startHarness({ ipForward: false });
    const { created } = await createNetwork({ 'weft.mode': 'routed' });
    expect(created.json.Err).toMatch(/needs IPv4 forwarding .*net\.ipv4\.ip_forward=0/);
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(h.networks.networks()).toEqual([]);
  });

  test('weft.mode=overlay is the default: a bridge, as without the option', async () => {
    await createNetwork({ 'weft.mode': 'overlay' });
    expect(h.networks.network(NET)?.mode).toBeUndefined();
    expect((await h.bridges.getLink(`weft-${NET.slice(0, 10)}`))?.kind).toBe('bridge');
  });
});

describe('a routed network with spare pairs', () => {
  beforeEach(async () => (h = await startHarness({ spares: 2, separate: true })));
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  };

  test('spares wait in the host\'s namespace answering ARP; CreateEndpoint makes no pair, only its route and neighbour; a pair comes back bare', async () => {
    const { poolId } = await createNetwork({ 'weft.mode': 'routed' });
    await settle();
    const spareEnds = (await h.netlink.listLinks()).filter((l) => /^wfhz/.test(l.name));
    expect(spareEnds).toHaveLength(2);
    for (const l of spareEnds) {
      expect(l).toMatchObject({ kind: 'veth', up: true, mtu: 1500 });
      expect(l.masterIndex).toBeUndefined();
      expect(h.sysctl.values.get(`net/ipv4/conf/${l.name}/proxy_arp`)).toBe('1');
      expect(h.sysctl.values.get(`net/ipv4/neigh/${l.name}/proxy_delay`)).toBe('0');
    }
    expect((await h.bridges.listLinks()).map((l) => l.name)).toEqual(['lo']);

    const before = h.netlink.calls.length;
    const c = await runContainer(poolId, '10.44.0.80');
    expect(c.endpoint.json).toEqual({});
    const ep = h.networks.endpoint(NET, EP);
    expect(ep.hostVeth).toMatch(/^wfhz/);
    expect(spareEnds.map((l) => l.name)).toContain(ep.hostVeth);
    // the endpoint's own calls: its route and neighbour entry; the one pair made is the pool's next spare
    const calls = h.netlink.calls.slice(before);
    expect(calls.filter((x) => x.op !== 'createVeth').map((x) => x.op)).toEqual(['replaceRoute', 'setNeighbour']);
    expect(calls.filter((x) => x.op === 'createVeth').map((x) => (x.args as { name: string }).name)).not.toContain(ep.hostVeth);
    const end = (await h.netlink.getLink(ep.hostVeth))!;
    expect(await weftRoutes()).toContainEqual(expect.objectContaining({ dst: '10.44.0.80/32', ifindex: end.index, priority: LOCAL_METRIC }));
    expect(await h.netlink.listNeighbours(ep.hostVeth)).toEqual([expect.objectContaining({ ip: '10.44.0.80', mac: MAC })]);

    // Docker moves the container end back, down, before DeleteEndpoint: the pair goes back to the pool bare
    await h.call('/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
    expect(await h.call('/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP })).toEqual({ status: 200, json: {} });
    expect(await h.netlink.getLink(ep.hostVeth)).toBeDefined();
    expect((await weftRoutes()).map((r) => r.dst)).not.toContain('10.44.0.80/32');
    expect(await h.netlink.listNeighbours(ep.hostVeth)).toEqual([]);

    // the network goes, its spares with it
    await h.call('/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.44.0.80' });
    expect(await h.call('/NetworkDriver.DeleteNetwork', { NetworkID: NET })).toEqual({ status: 200, json: {} });
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(await weftRoutes()).toEqual([]);
  });
});
