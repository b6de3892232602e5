import * as http from 'node:http';
import { type Harness, removalCalls, startHarness } from '../../helpers/pluginHarness';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const MAC = '02:42:0a:28:00:32';

let h: Harness;
beforeEach(async () => (h = await startHarness()));
afterEach(() => h.close());

/** the calls Docker 20.10 makes for `docker network create --subnet …` */
async function createNetwork(subnet = '10.40.0.0/24', id = NET) {
  const pool = await h.call('/IpamDriver.RequestPool', { AddressSpace: 'weft-local', Pool: subnet, SubPool: '', Options: {}, V6: false });
  const poolId = pool.json.PoolID as string;
  const gw = await h.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  const created = await h.call('/NetworkDriver.CreateNetwork', {
    NetworkID: id,
    Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
    IPv4Data: [{ AddressSpace: 'weft-local', Gateway: gw.json.Address, Pool: subnet }],
    IPv6Data: [],
  });
  return { poolId, gateway: gw.json.Address as string, created };
}

async function runContainer(poolId: string, address = '', mac = MAC, ep = EP) {
  const a = await h.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: address, Options: { 'com.docker.network.endpoint.macaddress': mac } });
  if (a.json.Error) return { address: a, endpoint: undefined, join: undefined };
  const endpoint = await h.call('/NetworkDriver.CreateEndpoint', {
    NetworkID: NET, EndpointID: ep, Interface: { Address: a.json.Address, AddressIPv6: '', MacAddress: mac },
    Options: { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] },
  });
  const join = await h.call('/NetworkDriver.Join', { NetworkID: NET, EndpointID: ep, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  return { address: a, endpoint, join };
}

test('activation and capabilities', async () => {
  expect((await h.raw('/Plugin.Activate', '')).json).toEqual({ Implements: ['NetworkDriver', 'IpamDriver'] });
  expect((await h.call('/NetworkDriver.GetCapabilities', {})).json).toEqual({ Scope: 'local', ConnectivityScope: 'local' });
  expect((await h.raw('/IpamDriver.GetCapabilities', '')).json).toEqual({ RequiresMACAddress: true, RequiresRequestReplay: false });
  expect((await h.raw('/IpamDriver.GetDefaultAddressSpaces', '')).json).toEqual({ LocalDefaultAddressSpace: 'weft-local', GlobalDefaultAddressSpace: 'weft-global' });
});

describe.each([false, true])('devices; the bridges in a namespace of their own: %s', (separate) => {
  beforeEach(async () => {
    await h.close();
    h = await startHarness({ separate });
  });

  test('the whole lifecycle Docker drives, and nothing left after', async () => {
    const { poolId, gateway, created } = await createNetwork();
    expect(gateway).toBe('10.40.0.1/24');
    expect(created).toEqual({ status: 200, json: {} });
    const bridge = await h.bridges.getLink(`weft-${NET.slice(0, 10)}`);
    expect(bridge?.kind).toBe('bridge');
    expect(bridge?.mtu).toBe(1450);
    expect(bridge?.mac).toBe('7e:18:0a:28:00:00');
    // iptables sees bridged traffic only in the host's namespace
    expect([...h.firewall.allowed]).toEqual(separate ? [] : [[bridge!.name, '10.40.0.0/24']]);
    // the gateway: a veth pair, the address and the anycast MAC on the host's end, the other end on the bridge
    const gw = await h.netlink.getLink(`wfg${NET.slice(0, 12)}`);
    expect(gw).toMatchObject({ kind: 'veth', mac: '7a:18:0a:28:00:00', up: true, mtu: 1450 });
    expect(await h.netlink.listAddresses(gw!.name)).toEqual([{ ifindex: gw!.index, cidr: '10.40.0.1/24' }]);
    const gwPort = await h.bridges.getLink(`wfb${NET.slice(0, 12)}`);
    expect(gwPort).toMatchObject({ kind: 'veth', up: true, masterIndex: bridge!.index });
    expect((await h.bridges.listFdb(gwPort!.name)).filter((f) => !f.self && f.mac === gw!.mac)).toEqual([expect.objectContaining({ state: 0x40 })]);

    const c = await runContainer(poolId, '10.40.0.50');
    expect(c.address.json).toEqual({ Address: '10.40.0.50/24', Data: {} });
    expect(c.endpoint!.json).toEqual({}); // Docker refuses replies that repeat its own values
    expect(c.join!.json).toEqual({ InterfaceName: { SrcName: `wfc${EP.slice(0, 12)}`, DstPrefix: 'eth' }, Gateway: '10.40.0.1' });
    const peer = await h.netlink.getLink(`wfc${EP.slice(0, 12)}`);
    expect(peer?.mac).toBe(MAC);
    const host = await h.bridges.getLink(`wfh${EP.slice(0, 12)}`);
    expect(host?.masterIndex).toBe(bridge!.index);
    expect(host?.up).toBe(true);

    expect((await h.call('/NetworkDriver.ProgramExternalConnectivity', { NetworkID: NET, EndpointID: EP, Options: {} })).json).toEqual({});
    expect((await h.call('/NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP })).json.Value).toMatchObject({ address: '10.40.0.50/24' });
    const teardown = removalCalls({ network: NET, endpoint: EP, poolId, address: '10.40.0.50', gateway: '10.40.0.1' });
    expect(await h.callAll(teardown)).toEqual(teardown.map(() => ({ status: 200, json: {} })));
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect((await h.bridges.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect(h.ipam.status()).toEqual([]);
    expect(h.networks.networks()).toEqual([]);
    expect(h.firewall.allowed.size).toBe(0);
  });

  test('a new endpoint costs one kernel change: the veth pair made up and on the bridge at once', async () => {
    const { poolId } = await createNetwork();
    const before = [h.netlink.calls.length, h.bridges.calls.length] as const;
    await runContainer(poolId, '10.40.0.60');
    const mutations = [...new Set([...h.netlink.calls.slice(before[0]), ...h.bridges.calls.slice(before[1])])];
    expect(mutations).toEqual([{ op: 'createVeth', args: expect.objectContaining({ master: `weft-${NET.slice(0, 10)}`, up: true }) }]);
  });

  test('CreateEndpoint gets past leftovers: a lone container end, or the whole pair off its bridge', async () => {
    const { poolId } = await createNetwork();
    const cont = `wfc${EP.slice(0, 12)}`;
    const host = `wfh${EP.slice(0, 12)}`;
    await h.netlink.createBridge({ name: cont }); // a device of the container end's name, as a crash might leave
    const c = await runContainer(poolId, '10.40.0.61');
    expect(c.endpoint!.json).toEqual({});
    expect((await h.netlink.getLink(cont))?.kind).toBe('veth');
    const bridge = await h.bridges.getLink(`weft-${NET.slice(0, 10)}`);
    expect(await h.bridges.getLink(host)).toMatchObject({ up: true, masterIndex: bridge!.index });

    // the pair still there (a record lost, say) but released and down: taken over as it is
    const other = 'c'.repeat(64);
    const [oh, oc] = [`wfh${other.slice(0, 12)}`, `wfc${other.slice(0, 12)}`];
    await h.bridges.createVeth({ name: oh, peerName: oc, peerNetns: h.netlink.ref() });
    const d = await runContainer(poolId, '10.40.0.62', '02:42:0a:28:00:33', other);
    expect(d.endpoint!.json).toEqual({});
    expect(await h.bridges.getLink(oh)).toMatchObject({ up: true, masterIndex: bridge!.index });
  });
});

test('deletes of things already gone succeed', async () => {
  for (const [m, body] of [
    ['/NetworkDriver.DeleteNetwork', { NetworkID: NET }],
    ['/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP }],
    ['/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP }],
    ['/NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP }],
    ['/IpamDriver.ReleaseAddress', { PoolID: 'weft:10.99.0.0/24', Address: '10.99.0.3' }],
    ['/IpamDriver.ReleasePool', { PoolID: 'weft:10.99.0.0/24' }],
    ['/NetworkDriver.FreeNetwork', { NetworkID: NET }],
  ] as const) {
    expect(await h.call(m, body)).toEqual({ status: 200, json: {} });
  }
});

test('a taken --ip is refused with a message in Error (IPAM) and Err, and changes nothing', async () => {
  const { poolId } = await createNetwork();
  await runContainer(poolId, '10.40.0.50');
  const before = h.ipam.status();
  const second = await runContainer(poolId, '10.40.0.50', '02:42:0a:28:00:33', 'c'.repeat(64));
  expect(second.address.status).toBe(200);
  expect(second.address.json.Error).toBe('weft: address 10.40.0.50 is already in use in 10.40.0.0/24');
  expect(second.address.json.Err).toBe(second.address.json.Error);
  expect(h.ipam.status()).toEqual(before);
});

test('a CreateEndpoint without a MAC gets one back', async () => {
  const { poolId } = await createNetwork();
  const a = await h.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: null });
  const r = await h.call('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: a.json.Address, AddressIPv6: '', MacAddress: '' }, Options: null });
  expect(r.json).toEqual({ Interface: { MacAddress: '02:42:0a:28:00:02' } });
});

describe('bad input gets an error Docker shows, and changes nothing', () => {
  const cases: Array<[string, string, string | Buffer, RegExp, number]> = [
    ['malformed JSON', '/IpamDriver.RequestPool', '{"Pool": ', /not JSON/, 400],
    ['wrong type', '/IpamDriver.RequestPool', JSON.stringify({ Pool: 12 }), /Pool: Invalid input: expected string/, 200],
    ['bad CIDR', '/IpamDriver.RequestPool', JSON.stringify({ Pool: '10.40.0.300/24' }), /bad subnet/, 200],
    ['host bits', '/IpamDriver.RequestPool', JSON.stringify({ Pool: '10.40.0.1/24' }), /did you mean 10.40.0.0\/24/, 200],
    ['IPv6 pool', '/IpamDriver.RequestPool', JSON.stringify({ Pool: '', V6: true }), /IPv6/, 200],
    ['unknown ipam option', '/IpamDriver.RequestPool', JSON.stringify({ Pool: '10.40.0.0/24', Options: { foo: 'bar' } }), /unknown IPAM option foo/, 200],
    ['unknown pool', '/IpamDriver.RequestAddress', JSON.stringify({ PoolID: 'weft:10.99.0.0/24', Address: '' }), /no pool 10.99.0.0\/24/, 200],
    ['garbage pool id', '/IpamDriver.RequestAddress', JSON.stringify({ PoolID: 'p1', Address: '' }), /unknown pool id/, 200],
    ['unknown network', '/NetworkDriver.CreateEndpoint', JSON.stringify({ NetworkID: 'f'.repeat(64), EndpointID: EP, Interface: { Address: '10.40.0.9/24' } }), /no such network/, 200],
    ['unknown endpoint', '/NetworkDriver.Join', JSON.stringify({ NetworkID: NET, EndpointID: 'e'.repeat(64), SandboxKey: '/x' }), /no such (network|endpoint)/, 200],
    ['bad id', '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: '../../etc' }), /NetworkID: must be 1-128 letters or digits/, 200],
    ['missing field', '/NetworkDriver.Join', JSON.stringify({ NetworkID: NET }), /EndpointID/, 200],
    ['array body', '/NetworkDriver.DeleteNetwork', '[]', /body: Invalid input/, 200],
    ['5 MB body', '/IpamDriver.RequestPool', Buffer.alloc(5 * 1024 * 1024, 0x20), /larger than 1mb/, 413],
    ['unknown method', '/NetworkDriver.Explode', '{}', /unknown plugin method/, 404],
  ];
  test.each(cases)('%s', async (_name, method, body, msg, status) => {
    const { poolId } = await createNetwork();
    await runContainer(poolId, '10.40.0.50');
    const before = { ipam: h.ipam.status(), nets: h.networks.networks(), eps: h.networks.endpoints(), links: await h.netlink.listLinks() };
    const r = await h.raw(method, body);
    expect(r.status).toBe(status);
    expect(String(r.json.Err)).toMatch(msg);
    expect(r.json.Error).toBe(r.json.Err);
    expect({ ipam: h.ipam.status(), nets: h.networks.networks(), eps: h.networks.endpoints(), links: await h.netlink.listLinks() }).toEqual(before);
    // and the server still answers
    expect((await h.raw('/Plugin.Activate', '')).status).toBe(200);
  });

  test('network create errors: two subnets, IPv6, bad option, address outside the subnet', async () => {
    const two = await h.call('/NetworkDriver.CreateNetwork', { NetworkID: NET, IPv4Data: [{ Pool: '10.40.0.0/24' }, { Pool: '10.41.0.0/24' }], IPv6Data: [] });
    expect(two.json.Err).toMatch(/exactly one IPv4 subnet/);
    const v6 = await h.call('/NetworkDriver.CreateNetwork', { NetworkID: NET, IPv4Data: [{ Pool: '10.40.0.0/24' }], IPv6Data: [{ Pool: 'fd00::/64' }] });
    expect(v6.json.Err).toMatch(/IPv6/);
    const opt = await h.call('/NetworkDriver.CreateNetwork', { NetworkID: NET, Options: { 'com.docker.network.generic': { colour: 'blue' } }, IPv4Data: [{ Pool: '10.40.0.0/24' }] });
    expect(opt.json.Err).toMatch(/unknown network option colour/);
    const mtu = await h.call('/NetworkDriver.CreateNetwork', { NetworkID: NET, Options: { 'com.docker.network.generic': { 'com.docker.network.driver.mtu': '9' } }, IPv4Data: [{ Pool: '10.40.0.0/24' }] });
    expect(mtu.json.Err).toMatch(/mtu/);
    expect((await h.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
    await createNetwork();
    const outside = await h.call('/NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.50.0.9/24', MacAddress: MAC } });
    expect(outside.json.Err).toMatch(/does not belong to network subnet 10.40.0.0\/24/);
  });

  test('GET is refused', async () => {
    const status = await new Promise<number>((resolve) => http.get({ socketPath: h.socket, path: '/Plugin.Activate' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }));
    expect(status).toBe(405);
  });
});

test('a second network on the same subnet is refused at RequestPool, the first keeps its pool', async () => {
  const { poolId } = await createNetwork();
  const again = await h.call('/IpamDriver.RequestPool', { Pool: '10.40.0.0/24', SubPool: '', V6: false });
  expect(again.json.Error).toMatch(/already used by weft network aaaaaaaaaaaa/);
  const c = await runContainer(poolId);
  expect(c.address.json.Address).toBe('10.40.0.2/24');
});

test('30 concurrent container starts get 30 distinct addresses and veths', async () => {
  const { poolId } = await createNetwork('10.40.0.0/24');
  const eps = Array.from({ length: 30 }, (_, i) => (i.toString(16).padStart(2, '0') + 'e'.repeat(62)));
  const runs = await Promise.all(eps.map((ep, i) => runContainer(poolId, '', `02:42:00:00:01:${i.toString(16).padStart(2, '0')}`, ep)));
  const addrs = runs.map((r) => r.address.json.Address);
  expect(new Set(addrs).size).toBe(30);
  expect(runs.every((r) => r.join?.json.InterfaceName)).toBe(true);
  expect((await h.netlink.listLinks()).filter((l) => l.name.startsWith('wfh'))).toHaveLength(30);
});

test('Join right after CreateEndpoint asks the kernel nothing; a Join again after a failed start re-creates a lost pair', async () => {
  const { poolId } = await createNetwork();
  const getLink = jest.spyOn(h.netlink, 'getLink');
  const c = await runContainer(poolId, '10.40.0.70');
  expect(c.join!.json).toMatchObject({ InterfaceName: { SrcName: `wfc${EP.slice(0, 12)}` } });
  const asked = getLink.mock.calls.map(([name]) => name);
  expect(asked).not.toContain(`wfc${EP.slice(0, 12)}`);
  // the start failed after the container end went into the sandbox, which is gone now, and its pair with it
  expect((await h.call('/NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP })).json).toEqual({});
  await h.netlink.deleteLink(`wfc${EP.slice(0, 12)}`);
  expect(await h.netlink.getLink(`wfh${EP.slice(0, 12)}`)).toBeUndefined();
  const again = await h.call('/NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/y', Options: {} });
  expect(again.json).toMatchObject({ InterfaceName: { SrcName: `wfc${EP.slice(0, 12)}` } });
  expect((await h.netlink.getLink(`wfc${EP.slice(0, 12)}`))?.mac).toBe(MAC);
  expect((await h.netlink.getLink(`wfh${EP.slice(0, 12)}`))?.up).toBe(true);
  getLink.mockRestore();
});
