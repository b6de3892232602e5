/**
 * DeleteEndpoint forgets the endpoint at once and deletes its veth pair in the
 * background (the kernel takes 15–20 ms for it); the network's deletion and the
 * daemon's stop wait for those deletions, and one that fails leaves a device the
 * reconciler removes at the next start.
 */
import { parseCidr } from '../../../src/addr/cidr';
import { FakeFirewall } from '../../../src/firewall/fake';
import { FakeNetlink } from '../../../src/netlink/fake';
import type { NetworkCollections } from '../../../src/network/model';
import { Networks } from '../../../src/network/networks';
import { orphanDevices } from '../../../src/network/reconciler';
import { MemoryStore } from '../../../src/store/memory';
import { silentLogger } from '../../../src/util/log';
import { FakeScheduler } from '../../../src/util/scheduler';

const NET = 'a'.repeat(64);
const EP = 'e'.repeat(64);
const SUBNET = parseCidr('10.40.0.0/24');

/** a kernel whose deletions wait until let go */
class SlowDeletes extends FakeNetlink {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  letGo(): void {
    this.open();
  }
  override async deleteLink(name: string): Promise<void> {
    await this.gate;
    return super.deleteLink(name);
  }
}

async function setup() {
  const netlink = new SlowDeletes();
  const store = new MemoryStore<NetworkCollections>();
  let changes = 0;
  const networks = new Networks({ store, netlink, firewall: new FakeFirewall(), clock: new FakeScheduler(), log: silentLogger, mtu: 1450, onEndpointsChanged: () => changes++ });
  await networks.createNetwork({ id: NET, subnet: SUBNET, internal: false });
  await networks.createEndpoint({ networkId: NET, endpointId: EP, ip: SUBNET.base + 9, prefix: 24, mac: '02:42:0a:28:00:09' });
  const ep = networks.endpoint(NET, EP);
  return { netlink, store, networks, ep, changes: () => changes };
}

test('DeleteEndpoint answers before the kernel has deleted the pair; settled() waits for it', async () => {
  const t = await setup();
  t.netlink.hold();
  const before = t.changes();
  await t.networks.deleteEndpoint(NET, EP);
  expect(t.networks.endpoints(NET)).toEqual([]);
  expect(t.changes()).toBe(before + 1);
  expect(await t.netlink.getLink(t.ep.hostVeth)).toBeDefined();
  let done = false;
  const settled = t.networks.settled().then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  expect(done).toBe(false);
  t.netlink.letGo();
  await settled;
  expect(await t.netlink.getLink(t.ep.hostVeth)).toBeUndefined();
  expect(await t.netlink.getLink(t.ep.containerVeth)).toBeUndefined();
});

test('deleting the network waits for pairs still being deleted', async () => {
  const t = await setup();
  t.netlink.hold();
  await t.networks.deleteEndpoint(NET, EP);
  const gone = t.networks.deleteNetwork(NET);
  t.netlink.letGo();
  await gone;
  expect((await t.netlink.listLinks()).map((l) => l.name)).toEqual(['lo']);
});

test('a deletion the kernel refuses is logged, not thrown; the device is then a leftover the reconciler removes', async () => {
  const t = await setup();
  t.netlink.failNext('deleteLink', 'EBUSY');
  await t.networks.deleteEndpoint(NET, EP);
  await t.networks.settled();
  expect(t.networks.endpoints(NET)).toEqual([]);
  const names = (await t.netlink.listLinks()).map((l) => l.name);
  expect(names).toContain(t.ep.hostVeth);
  expect(orphanDevices(names, t.networks.networks(), t.networks.endpoints(), (n) => t.networks.deviceNames(n)).sort()).toEqual([t.ep.containerVeth, t.ep.hostVeth].sort());
});

test('a second DeleteEndpoint for the same endpoint is a no-op', async () => {
  const t = await setup();
  await t.networks.deleteEndpoint(NET, EP);
  await t.networks.deleteEndpoint(NET, EP);
  await t.networks.settled();
  expect(t.netlink.calls.filter((c) => c.op === 'deleteLink')).toHaveLength(1);
});
