/**
 * 200 peers on fake time with loss, duplication, reordering and a partition:
 * the mesh, the ownership ring, space requests, allocation and the endpoint
 * table together. After healing: one ring everywhere, no address held twice,
 * every peer knows every endpoint.
 */
import { parseCidr, parseIp } from '../../../src/addr/cidr';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { Ownership, type OwnershipCollections } from '../../../src/ipam/ownership';
import { SpaceBroker } from '../../../src/ipam/spaceBroker';
import { ChannelId } from '../../../src/mesh/gossip/channel';
import { SegmentChannel } from '../../../src/mesh/gossip/segments';
import type { Mesh } from '../../../src/mesh/router';
import { type EndpointEntry, validateEntries } from '../../../src/network/endpointTable';
import { MemoryStore } from '../../../src/store/memory';
import { addrOf, simulate } from './meshSim';

const N = 200;
const RANGE = parseCidr('10.32.0.0/12');
const SUBNET = '10.32.0.0/16';

interface Peer {
  mesh: Mesh;
  ownership: Ownership;
  ipam: Ipam;
  poolId: string;
  table: SegmentChannel<EndpointEntry[]>;
  held: string[];
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('200 peers: ownership, allocation and endpoints converge; no address twice, across a partition', async () => {
  const sim = simulate({ loss: 0.03, duplicate: 0.02, jitterMs: 15 }, { heartbeatMs: 2000, suspectMs: 5000, deadMs: 8000 });
  const run = async (ms: number, step = 100) => {
    for (let t = 0; t < ms; t += step) {
      sim.scheduler.advance(step);
      await tick();
    }
  };
  const peers: Peer[] = [];
  for (let i = 0; i < N; i++) {
    const mesh = sim.add(i);
    const store = new MemoryStore<IpamCollections & OwnershipCollections>();
    const ownership = new Ownership(mesh.self, store, () => sim.scheduler.now());
    mesh.gossip.add(ownership);
    if (i === 0) ownership.claimAll();
    const table = new SegmentChannel<EndpointEntry[]>(ChannelId.Endpoints, mesh.self, { validate: validateEntries });
    mesh.gossip.add(table);
    let ipam: Ipam;
    const broker = new SpaceBroker({ ownership, rpc: mesh.rpc, livePeers: () => mesh.alivePeers(), isFree: (ip) => ipam.isFree(ip), nickname: (p) => p, timeoutMs: 2000 });
    ipam = new Ipam(store, sim.scheduler, { range: RANGE, defaultSubnet: parseCidr(SUBNET) }, () => undefined, { ownership, broker });
    const { poolId } = ipam.requestPool({ pool: SUBNET, subPool: '', v6: false });
    peers.push({ mesh, ownership, ipam, poolId, table, held: [] });
  }
  for (let i = 1; i < N; i++) peers[i].mesh.connect(addrOf((i * 7919) % i));
  await run(12_000);

  /** each peer takes `count` addresses, one request at a time, retrying (space requests can time out under loss) */
  const allocate = async (who: Peer[], count: number, ms: number) => {
    const want = new Map(who.map((p) => [p, count]));
    const pending = new Set<Peer>();
    for (let t = 0; t < ms && ([...want.values()].some((n) => n > 0) || pending.size > 0); t += 500) {
      for (const [p, n] of want) {
        if (n <= 0 || pending.has(p)) continue;
        pending.add(p);
        p.ipam.requestAddress({ poolId: p.poolId, address: '', gateway: false, mac: '02:42:00:00:00:01' }).then(
          (r) => {
            p.held.push(r.address.split('/')[0]);
            want.set(p, (want.get(p) ?? 1) - 1);
            pending.delete(p);
          },
          () => pending.delete(p),
        );
      }
      await run(500);
    }
    expect(pending.size).toBe(0);
    for (const p of who) p.table.publish(p.held.map((ip, k) => ({ id: `${p.mesh.self}-${k}`, subnet: SUBNET, ip, mac: '02:42:00:00:00:01' })));
  };

  await allocate(peers, 2, 30_000);
  expect(peers.filter((p) => p.held.length < 2)).toHaveLength(0);

  // a partition: each half allocates more, from its own space or its own side's
  const left = peers.slice(0, N / 2);
  const right = peers.slice(N / 2);
  sim.net.partition(left.map((p) => addrOf(peers.indexOf(p))), right.map((p) => addrOf(peers.indexOf(p))));
  await run(9000);
  await allocate(peers, 1, 20_000);
  sim.net.heal();
  await run(20_000);

  // no address held twice
  const all = peers.flatMap((p) => p.held);
  expect(new Set(all).size).toBe(all.length);
  // everyone holds only what it owns in the converged ring
  const ring = JSON.stringify(peers[0].ownership.entries());
  const differing = peers.filter((p) => JSON.stringify(p.ownership.entries()) !== ring);
  expect(differing).toHaveLength(0);
  const strays = peers.flatMap((p) => p.held.filter((ip) => p.ownership.owner(parseIp(ip)) !== p.mesh.self));
  expect(strays).toEqual([]);
  // every peer knows every endpoint
  const total = peers.reduce((n, p) => n + p.held.length, 0);
  const knows = peers.map((p) => p.table.all().reduce((n, s) => n + s.data.length, 0));
  expect(knows.filter((k) => k !== total)).toHaveLength(0);
}, 300_000);
