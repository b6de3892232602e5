import { ChannelId } from '../../../src/mesh/gossip/channel';
import { SegmentChannel } from '../../../src/mesh/gossip/segments';
import { seededRandom } from '../../../src/mesh/link';
import { DEFAULT_MESH_TIMES, Mesh } from '../../../src/mesh/router';
import type { Bytes } from '../../../src/mesh/transport/bytes';
import type { ReceiveHandler, Transport } from '../../../src/mesh/transport/types';
import type { FakeScheduler } from '../../../src/util/scheduler';
import { addrOf, cryptoFor, idOf, simulate } from './meshSim';

const alive = (ids: string[]) => ids.sort();

test('a new peer names one existing peer and learns them all; all list each other as live', () => {
  const sim = simulate();
  const [a, b, c] = [sim.add(0), sim.add(1), sim.add(2)];
  b.connect(addrOf(0));
  c.connect(addrOf(0));
  sim.run(2000);
  for (const [m, others] of [[a, [1, 2]], [b, [0, 2]], [c, [0, 1]]] as const) {
    expect(alive(m.alivePeers())).toEqual(others.map(idOf));
    expect(m.peers().every((p) => p.state === 'alive' && p.rttMs !== undefined)).toBe(true);
  }
  expect(b.peers().find((p) => p.id === idOf(2))?.nickname).toBe('p2');
});

test('a cut-off peer is marked dead within 3 s and comes back by itself', () => {
  const sim = simulate();
  const ms = [0, 1, 2].map((i) => sim.add(i));
  ms[1].connect(addrOf(0));
  ms[2].connect(addrOf(0));
  sim.run(2000);
  sim.net.partition([addrOf(2)], [addrOf(0), addrOf(1)]);
  const cut = sim.scheduler.now();
  sim.run(3100);
  const gone = ms[0].peers().find((p) => p.id === idOf(2));
  expect(gone?.state).toBe('dead');
  // dead since its last heartbeat plus the dead time: after the cut, within 3 s of it
  expect(gone?.deadSince).toBe(gone!.lastHeard! + 2500);
  expect(gone!.deadSince! - cut).toBeGreaterThan(0);
  expect(gone!.deadSince! - cut).toBeLessThanOrEqual(3000);
  expect(ms[2].alivePeers()).toEqual([]);
  sim.net.heal();
  sim.run(1500);
  expect(ms[0].peers().find((p) => p.id === idOf(2))?.deadSince).toBeUndefined();
  expect(alive(ms[0].alivePeers())).toEqual([idOf(1), idOf(2)]);
  expect(alive(ms[2].alivePeers())).toEqual([idOf(0), idOf(1)]);
});

test('a peer with the wrong or no password is refused, counted and never listed', () => {
  const sim = simulate();
  const a = sim.add(0, 'correct horse');
  const b = sim.add(1, 'correct horse');
  const wrong = sim.add(2, 'battery staple');
  const none = sim.add(3);
  b.connect(addrOf(0));
  wrong.connect(addrOf(0));
  none.connect(addrOf(0));
  sim.run(3000);
  expect(a.alivePeers()).toEqual([idOf(1)]);
  expect(a.peers().map((p) => p.id)).toEqual([idOf(1)]);
  expect(a.drops.get('authFailed')).toBeGreaterThan(0);
  expect(a.drops.get('unencrypted')).toBeGreaterThan(0);
  expect(wrong.peers()).toEqual([]);
  expect(none.peers()).toEqual([]);
});

test('malformed datagrams are counted and dropped, never a crash', () => {
  const sim = simulate();
  const a = sim.add(0);
  const raw = sim.net.transport('10.9.9.9:6783');
  for (let i = 0; i < 200; i++) raw.send(addrOf(0), Buffer.from(Array.from({ length: i }, (_, j) => (i * 31 + j * 7) & 255)));
  raw.send(addrOf(0), Buffer.concat([Buffer.from('WEFT'), Buffer.from([2, 0, 3, 0]), Buffer.from(idOf(5), 'hex'), Buffer.from([1, 99, 0])]));
  sim.run(500);
  expect(a.drops.total).toBeGreaterThan(190);
  expect(a.peers()).toEqual([]);
});

test('rpc: request/reply, remote errors, timeouts', async () => {
  const sim = simulate();
  const [a, b] = [sim.add(0), sim.add(1)];
  b.connect(addrOf(0));
  sim.run(1000);
  b.rpc.on('echo', (_from, _op, body) => ({ got: body }));
  b.rpc.on('fail', () => {
    throw new Error('nope');
  });
  const ok = a.rpc.request(idOf(1), 'echo', { x: 1 }, 1000);
  const bad = a.rpc.request(idOf(1), 'fail', {}, 1000);
  const unknown = a.rpc.request(idOf(1), 'what', {}, 1000);
  sim.run(100, 10);
  await expect(ok).resolves.toEqual({ got: { x: 1 } });
  await expect(bad).rejects.toThrow('nope');
  await expect(unknown).rejects.toThrow('unknown request what');
  sim.net.partition([addrOf(0)], [addrOf(1)]);
  const lost = a.rpc.request(idOf(1), 'echo', {}, 500);
  sim.run(600, 10);
  await expect(lost).rejects.toThrow('did not answer');
});

test('200 peers with loss, duplication and reordering converge on membership; partitions heal', () => {
  const N = 200;
  const sim = simulate({ loss: 0.05, duplicate: 0.02, jitterMs: 20 }, { heartbeatMs: 2000, suspectMs: 5000, deadMs: 8000 });
  for (let i = 0; i < N; i++) sim.add(i);
  // each new peer names one random earlier peer
  for (let i = 1; i < N; i++) sim.meshes[i].connect(addrOf((i * 7919) % i));
  sim.run(15_000, 100);
  const full = (i: number) => sim.meshes[i].peersChannel.all().length === N;
  expect(sim.meshes.filter((_, i) => !full(i))).toHaveLength(0);
  // split in two halves, then heal: everyone sees everyone alive again
  const left = Array.from({ length: N / 2 }, (_, i) => addrOf(i));
  const right = Array.from({ length: N / 2 }, (_, i) => addrOf(i + N / 2));
  sim.net.partition(left, right);
  sim.run(9000, 100);
  expect(sim.meshes[0].alivePeers().length).toBeLessThan(N / 2);
  sim.net.heal();
  sim.run(8000, 100);
  const lonely = sim.meshes.filter((m) => m.alivePeers().length < N - 1 - 10);
  expect(lonely).toHaveLength(0);
}, 120_000);

test('an idle mesh acks one heartbeat in four: liveness from every heartbeat, a round-trip time every 2 s', () => {
  const sim = simulate();
  const ms = [0, 1, 2].map((i) => sim.add(i));
  ms[1].connect(addrOf(0));
  ms[2].connect(addrOf(0));
  sim.run(3000);
  const before = ms.map((m) => m.traffic.framesOut);
  sim.run(8000);
  const sent = ms.map((m, i) => m.traffic.framesOut - before[i]);
  // per peer in 8 s: 2 peers × 16 heartbeats, 2 × 4 acks, 8 anti-entropy digests (and a reply now and then)
  for (const n of sent) {
    expect(n).toBeGreaterThanOrEqual(48);
    expect(n).toBeLessThanOrEqual(52);
  }
  for (const m of ms) expect(m.peers().every((p) => p.state === 'alive' && p.rttMs !== undefined)).toBe(true);
});

/** three meshes joined through p0, each with a gossip channel of its own, after 2 s of settling */
function threeWithChannel(times: Parameters<typeof simulate>[1] = {}) {
  const sim = simulate({}, times);
  const ms = [0, 1, 2].map((i) => sim.add(i));
  const channels = ms.map((m, i) => {
    const ch = new SegmentChannel<string>(ChannelId.Topology, idOf(i), { validate: (d) => String(d) });
    m.gossip.add(ch);
    return ch;
  });
  ms[1].connect(addrOf(0));
  ms[2].connect(addrOf(0));
  sim.run(2000);
  return { sim, ms, channels };
}

test('a local change also goes straight to a suspect peer (heartbeats late, not yet dead), not only by anti-entropy', () => {
  const { sim, ms, channels } = threeWithChannel();
  // nobody hears p1 any more (its datagrams are lost, as a starved peer's are late), but it still hears them:
  // p1 turns suspect everywhere, so no peer relays news to it, and its own digests never arrive
  sim.net.block(addrOf(1), addrOf(0));
  sim.net.block(addrOf(1), addrOf(2));
  sim.run(1700);
  for (const i of [0, 2]) {
    expect(ms[i]!.peers().find((p) => p.id === idOf(1))?.state).toBe('suspect');
    expect(ms[i]!.alivePeers()).not.toContain(idOf(1));
  }
  channels[0]!.publish('news');
  // one hop (1-3 ms here), well before an anti-entropy round (1000 ms) could carry it
  sim.run(10, 1);
  expect(channels[1]!.get(idOf(0))?.data).toBe('news');
  expect(channels[2]!.get(idOf(0))?.data).toBe('news');
});

test('a peer back from the dead is brought up to date at once, not by a random anti-entropy round', () => {
  // anti-entropy rounds far apart: what reaches the returning peer within a second came by the reunion itself
  const { sim, ms, channels } = threeWithChannel({ antiEntropyMs: 30_000 });
  sim.net.partition([addrOf(2)], [addrOf(0), addrOf(1)]);
  sim.run(3100);
  expect(ms[0].peers().find((p) => p.id === idOf(2))?.state).toBe('dead');
  // news on both sides of the cut, which the other side misses
  channels[0]!.publish('from p0');
  channels[2]!.publish('from p2');
  sim.run(100);
  expect(channels[2]!.get(idOf(0))).toBeUndefined();
  sim.net.heal();
  // the next heartbeat (every 500 ms) reunites them; the state follows in a few hops
  sim.run(1000);
  expect(channels[2]!.get(idOf(0))?.data).toBe('from p0');
  expect(channels[0]!.get(idOf(2))?.data).toBe('from p2');
  expect(channels[1]!.get(idOf(2))?.data).toBe('from p2');
});

describe('sealing into one reused buffer', () => {
  /** holds what it is given and hands it to the network a tick later, as a queueing socket would */
  class QueueingTransport implements Transport {
    constructor(
      private readonly inner: Transport,
      private readonly s: FakeScheduler,
    ) {}
    get address(): string {
      return this.inner.address;
    }
    send(to: string, data: Bytes): void {
      this.s.after(0, () => this.inner.send(to, data));
    }
    sendRaw(to: string, data: Uint8Array): void {
      this.inner.sendRaw(to, data);
    }
    onReceive(h: ReceiveHandler): void {
      this.inner.onReceive(h);
    }
    close(): Promise<void> {
      return this.inner.close();
    }
  }

  test.each([true, false])('transport copies on send: %s; only then is the buffer reused, and every frame arrives either way', (copies) => {
    const sim = simulate();
    const a = sim.add(0, 'correct horse');
    const c = cryptoFor('correct horse', idOf(1));
    const intos: Array<Buffer | undefined> = [];
    const seal = c.sealer.seal.bind(c.sealer);
    c.sealer.seal = (aad, plain, into) => {
      intos.push(into);
      return seal(aad, plain, into);
    };
    const raw = sim.net.transport(addrOf(1));
    const t = copies ? raw : new QueueingTransport(raw, sim.scheduler);
    const b = new Mesh(idOf(1), t, sim.scheduler, { nickname: 'p1', advertise: addrOf(1), ...DEFAULT_MESH_TIMES }, c, seededRandom(2));
    b.start();
    b.connect(addrOf(0));
    sim.run(3000);
    expect(a.alivePeers()).toEqual([idOf(1)]);
    expect(b.alivePeers()).toEqual([idOf(0)]);
    // several frames leave in one turn (heartbeat, gossip, ack): one shared buffer would break all but the last
    expect(a.drops.total).toBe(0);
    expect(intos.length).toBeGreaterThan(10);
    expect(intos.every((i) => (copies ? i !== undefined && i === intos[0] : i === undefined))).toBe(true);
    void b.stop();
  });
});
