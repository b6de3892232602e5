/**
 * The Docker sync against an in-memory engine that, like dockerd, asks weft's IPAM and
 * network driver when it creates a network: the default network is made, and a weft
 * network Docker lost while weft was down does not block it.
 */
import { formatCidr, parseAddressWithPrefix, parseCidr } from '../../../src/addr/cidr';
import type { CreateNetworkSpec, DockerNetwork } from '../../../src/docker/client';
import { DockerSync, type SyncDocker } from '../../../src/docker/sync';
import { FakeFirewall } from '../../../src/firewall/fake';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { FakeNetlink } from '../../../src/netlink/fake';
import { oneNamespace } from '../../../src/network/namespaces';
import type { NetworkCollections } from '../../../src/network/model';
import { Networks } from '../../../src/network/networks';
import { GRACE_MS, Reconciler } from '../../../src/network/reconciler';
import { MemoryStore } from '../../../src/store/memory';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';
import { RecordingSysctl } from '../../../src/util/sysctl';

const DEFAULT = parseCidr('10.32.0.0/16');

/** dockerd's side: a network is the IPAM driver's pool and gateway, then the network driver's CreateNetwork */
class Engine implements SyncDocker {
  readonly nets = new Map<string, DockerNetwork>();
  private next = 1;

  constructor(private readonly ipam: Ipam, private readonly driver: Networks) {}

  async ping(): Promise<boolean> {
    return true;
  }

  async networks(): Promise<DockerNetwork[]> {
    return [...this.nets.values()];
  }

  async network(idOrName: string): Promise<DockerNetwork | undefined> {
    return [...this.nets.values()].find((n) => n.Id === idOrName || n.Name === idOrName);
  }

  async createNetwork(spec: CreateNetworkSpec): Promise<string> {
    const id = (this.next++).toString(16).padStart(64, 'd');
    const subnet = spec.IPAM.Config[0]!.Subnet;
    const { poolId } = this.ipam.requestPool({ pool: subnet, subPool: '', v6: false });
    const gw = await this.ipam.requestAddress({ poolId, address: '', gateway: true });
    const cidr = parseCidr(subnet);
    await this.driver.createNetwork({ id, subnet: cidr, gateway: parseAddressWithPrefix(gw.address), internal: false });
    this.nets.set(id, { Id: id, Name: spec.Name, Driver: spec.Driver, IPAM: { Driver: spec.IPAM.Driver, Config: [{ Subnet: subnet, Gateway: gw.address.split('/')[0] }] }, Containers: {} });
    return id;
  }
}

function setup() {
  const netlink = new FakeNetlink();
  const store = new MemoryStore<IpamCollections & NetworkCollections>();
  const clock = new FakeScheduler(1_000_000);
  const networks = new Networks({ store, ns: oneNamespace(netlink, netlink.ref()), firewall: new FakeFirewall(), clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl: new RecordingSysctl() });
  const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: DEFAULT }, (s) => networks.subnetUser(s));
  const reconciler = new Reconciler({ networks, ipam, ns: oneNamespace(netlink, netlink.ref()), firewall: new FakeFirewall(), clock, log: silentLogger, driver: 'weft' });
  const engine = new Engine(ipam, networks);
  const sync = new DockerSync(engine, reconciler, silentLogger, { name: 'weft', driver: 'weft', defaultSubnet: DEFAULT, createDefaultNetwork: true, intervalMs: 60_000, retryMs: 5 });
  return { netlink, store, clock, networks, ipam, engine, sync };
}

async function settled(sync: DockerSync): Promise<void> {
  for (let i = 0; i < 200 && (sync.defaultNetwork.state === 'pending' || sync.lastReconcile === undefined); i++) await new Promise((r) => setTimeout(r, 1));
}

test('the default network is made in Docker, through weft\'s own IPAM and driver', async () => {
  const t = setup();
  t.sync.start();
  await settled(t.sync);
  t.sync.stop();
  expect(t.sync.defaultNetwork).toMatchObject({ state: 'ready', created: true });
  const dn = (await t.engine.network('weft'))!;
  expect(t.networks.network(dn.Id)?.subnet).toBe(formatCidr(DEFAULT));
});

test('a weft network Docker lost while weft was down is removed first, and the default network made on its subnet', async () => {
  const t = setup();
  // weft's record of the default network from an earlier run; Docker no longer has it (removed while the plugin was away)
  const stale = 'e'.repeat(64);
  const { poolId } = t.ipam.requestPool({ pool: formatCidr(DEFAULT), subPool: '', v6: false });
  await t.ipam.requestAddress({ poolId, address: '', gateway: true });
  await t.networks.createNetwork({ id: stale, subnet: DEFAULT, gateway: { ip: DEFAULT.base + 1, prefix: 16 }, internal: false });
  t.clock.advance(GRACE_MS + 1);
  t.sync.start();
  await settled(t.sync);
  t.sync.stop();
  expect(t.sync.defaultNetwork).toMatchObject({ state: 'ready', created: true });
  expect(t.networks.network(stale)).toBeUndefined();
  const dn = (await t.engine.network('weft'))!;
  expect(t.networks.networks().map((n) => n.id)).toEqual([dn.Id]);
});
