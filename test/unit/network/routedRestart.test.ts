/**
 * A routed network across a weft restart (the reconciler at start): its devices, routes and neighbour entry come
 * back, its host ends in the host's namespace are no orphans whichever namespace the bridges use, and weft's
 * routes of a network that is gone (deleted while weft was down, or in a crash) are removed.
 */
import { parseCidr } from '../../../src/addr/cidr';
import { FakeFirewall } from '../../../src/firewall/fake';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { FakeNetlink } from '../../../src/netlink/fake';
import type { NetworkCollections, NetworkRecord } from '../../../src/network/model';
import type { Namespaces } from '../../../src/network/namespaces';
import { Networks } from '../../../src/network/networks';
import { Reconciler } from '../../../src/network/reconciler';
import { MemoryStore } from '../../../src/store/memory';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';
import { RecordingSysctl } from '../../../src/util/sysctl';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const HOST_END = `wfh${EP.slice(0, 12)}`;
const CONT_END = `wfc${EP.slice(0, 12)}`;
const GW = `wfg${NET.slice(0, 12)}`;
const MAC = '02:42:0a:2c:00:05';

const routes = async (nl: FakeNetlink) => (await nl.listRoutes()).filter((r) => r.protocol === 87)
  .map((r) => `${r.type === 'unreachable' ? 'unreachable ' : ''}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.priority ? ` metric ${r.priority}` : ''}`).sort();

describe.each([false, true])('the bridges in a namespace of their own: %s', (separate) => {
  test('the reconciler restores a routed network and its endpoint, and removes routes of networks that are gone', async () => {
    const host = new FakeNetlink();
    const bridges = separate ? new FakeNetlink() : host;
    const ns: Namespaces = { host: { nl: host, ref: host.ref('host') }, bridges: { nl: bridges, ref: bridges.ref('bridges') } };
    const store = new MemoryStore<IpamCollections & NetworkCollections>();
    const clock = new FakeScheduler();
    const firewall = new FakeFirewall();
    const sysctl = new RecordingSysctl();
    const networks = new Networks({ store, ns, firewall, clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl });
    const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, () => undefined);
    const net: NetworkRecord = { id: NET, bridge: `weft-${NET.slice(0, 10)}`, subnet: '10.44.0.0/16', gateway: '10.44.0.1', mtu: 1500, mac: '7a:10:0a:2c:00:00', internal: false, mode: 'routed', createdAt: 0 };
    store.put('networks', NET, net);
    store.put('endpoints', EP, { id: EP, networkId: NET, hostVeth: HOST_END, containerVeth: CONT_END, address: '10.44.0.5/16', mac: MAC, sandboxKey: '/x', createdAt: 0 });
    // as a crash left it: the container running (its end inside it), the host end here but its route and
    // neighbour lost; a network deleted meanwhile left its unreachable route and a route to a peer's container
    await host.createVeth({ name: HOST_END, peerName: CONT_END, up: true });
    host.moveAway(CONT_END);
    await host.createBridge({ name: 'eth0' });
    await host.setLink('eth0', { up: true });
    await host.addAddress('eth0', '192.168.91.1/24');
    await host.replaceRoute({ dst: '10.45.0.0/16', type: 'unreachable', protocol: 87 });
    await host.replaceRoute({ dst: '10.45.0.9/32', gateway: '192.168.91.2', protocol: 87, priority: 20 });
    await host.replaceRoute({ dst: '10.44.0.9/32', gateway: '192.168.91.2', protocol: 87, priority: 20 });
    // and its FORWARD rule
    await firewall.allowSubnet('10.45.0.0/16');
    const before = (await host.getLink(HOST_END))!.index;

    const reconciler = new Reconciler({ networks, ipam, ns, firewall, clock, log: silentLogger, driver: 'weft' });
    await reconciler.kernel();
    await reconciler.firewall();

    // the running container kept its interface; routes of the network that is gone went, this network's stayed
    expect((await host.getLink(HOST_END))?.index).toBe(before);
    expect(await routes(host)).toEqual(['10.44.0.5/32 metric 10', '10.44.0.9/32 via 192.168.91.2 metric 20', 'unreachable 10.44.0.0/16']);
    expect(await host.listNeighbours(HOST_END)).toEqual([expect.objectContaining({ ip: '10.44.0.5', mac: MAC })]);
    expect(sysctl.values.get(`net/ipv4/conf/${HOST_END}/proxy_arp`)).toBe('1');
    expect((await host.listAddresses(GW)).map((a) => a.cidr)).toEqual(['10.44.0.1/32']);
    expect([...firewall.subnets]).toEqual(['10.44.0.0/16']);
    expect((await bridges.listLinks()).filter((l) => l.name.startsWith('weft-'))).toEqual([]);
    host.moveBack(CONT_END);
  });
});
