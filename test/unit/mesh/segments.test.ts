import { ChannelId, GossipRejected } from '../../../src/mesh/gossip/channel';
import { SegmentChannel } from '../../../src/mesh/gossip/segments';
import { seededRandom } from '../../../src/mesh/link';

const ids = ['0000000000000001', '0000000000000002', '0000000000000003', '0000000000000004'];
const validate = (d: unknown) => {
  if (typeof d !== 'string') throw new Error('want a string');
  return d;
};
const chan = (self = ids[0]) => new SegmentChannel<string>(ChannelId.Endpoints, self, { validate });
const state = (c: SegmentChannel<string>) => c.all().map((s) => `${s.writer}:${s.version}:${s.data}`).sort();

/** random histories: each writer publishes several versions; updates are captured along the way */
function history(seed: number): Buffer[] {
  const random = seededRandom(seed);
  const writers = ids.map((id) => chan(id));
  const updates: Buffer[] = [];
  for (const w of writers) w.onLocalChange = (u) => updates.push(u);
  for (let i = 0; i < 20; i++) writers[Math.floor(random() * writers.length)].publish(`v${i}`);
  return updates;
}

function mergeAll(c: SegmentChannel<string>, ups: Buffer[]) {
  for (const u of ups) c.merge(u, ids[1]);
  return c;
}

test('merge is commutative, associative and idempotent over random histories', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const ups = history(seed);
    const random = seededRandom(seed * 7);
    const shuffled = [...ups].sort(() => random() - 0.5);
    const a = state(mergeAll(chan('00000000000000ff'), ups));
    const b = state(mergeAll(chan('00000000000000ff'), shuffled));
    const twice = state(mergeAll(mergeAll(chan('00000000000000ff'), ups), ups));
    expect(b).toEqual(a);
    expect(twice).toEqual(a);
    // associativity: merging merged states equals merging everything
    const half = Math.floor(ups.length / 2);
    const left = mergeAll(chan('00000000000000fe'), ups.slice(0, half));
    const right = mergeAll(chan('00000000000000fd'), ups.slice(half));
    const combined = chan('00000000000000ff');
    for (const u of left.compare(Buffer.alloc(8)).missing) combined.merge(u, ids[1]);
    for (const u of right.compare(Buffer.alloc(8)).missing) combined.merge(u, ids[1]);
    expect(state(combined)).toEqual(a);
  }
});

test('merge returns only news; digests drive missing/behind', () => {
  const a = chan(ids[0]);
  const b = chan(ids[1]);
  let fromA: Buffer | undefined;
  a.onLocalChange = (u) => (fromA = u);
  a.publish('hello');
  expect(b.merge(fromA!, ids[0])?.toString()).toContain('hello');
  expect(b.merge(fromA!, ids[0])).toBeUndefined();
  expect(a.compare(b.digest()).behind).toBe(false);
  b.publish('world');
  expect(a.compare(b.digest()).behind).toBe(true);
  const { missing } = b.compare(a.digest());
  expect(missing).toHaveLength(1);
  a.merge(missing[0], ids[1]);
  expect(state(a)).toEqual(state(b));
  expect(b.compare(a.digest())).toEqual({ missing: [], behind: false });
});

test('our own segment echoed back newer (a restart without state) is superseded', () => {
  const a = chan(ids[0]);
  a.publish('new');
  const old = Buffer.from(JSON.stringify([{ w: ids[0], v: 9, d: 'stale' }]));
  const news = a.merge(old, ids[1]);
  expect(a.get(ids[0])).toEqual({ writer: ids[0], version: 10, data: 'new' });
  expect(news?.toString()).toContain('"v":10');
});

test('bad updates and digests are rejected without changing state', () => {
  const a = chan();
  a.publish('x');
  const before = state(a);
  for (const bad of ['nope', '{}', '[{"w":"zz","v":1,"d":"a"}]', `[{"w":"${ids[1]}","v":0,"d":"a"}]`, `[{"w":"${ids[1]}","v":1,"d":5}]`]) {
    expect(() => a.merge(Buffer.from(bad), ids[1])).toThrow(GossipRejected);
  }
  for (const bad of [Buffer.alloc(3), Buffer.alloc(8 + 5)]) expect(() => a.compare(bad)).toThrow(GossipRejected);
  expect(state(a)).toEqual(before);
});

test('large states are split into datagram-sized updates', () => {
  const big = new SegmentChannel<string>(ChannelId.Endpoints, ids[0], { validate, maxUpdateBytes: 1000 });
  for (let i = 0; i < 50; i++) big.merge(Buffer.from(JSON.stringify([{ w: (i + 16).toString(16).padStart(16, '0'), v: 1, d: 'x'.repeat(100) }])), ids[1]);
  const parts = big.compare(Buffer.alloc(8)).missing;
  expect(parts.length).toBeGreaterThan(5);
  for (const p of parts) expect(p.length).toBeLessThanOrEqual(1000);
  const copy = chan(ids[2]);
  for (const p of parts) copy.merge(p, ids[0]);
  expect(copy.all()).toHaveLength(50);
});
