import { Packet, PacketQueue } from '../../../src/mesh/transport/packetQueue';
import { DropCounter } from '../../../src/mesh/stats';
import { rng } from './helpers/random';

test('PacketQueue pops by (time, send order) under random pushes and pops', () => {
  const random = rng(9);
  const q = new PacketQueue();
  const model: Packet[] = [];
  const data = Buffer.alloc(0);
  let seq = 0;
  for (let i = 0; i < 20_000; i++) {
    if (random() < 0.6) {
      const p = new Packet(Math.floor(random() * 50), seq++, 'a', 'b', data);
      q.push(p);
      model.push(p);
    } else {
      model.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const want = model.shift();
      if (q.pop() !== want) throw new Error(`wrong packet at step ${i}`);
    }
    if (q.size !== model.length) throw new Error('size mismatch');
  }
  expect(q.peek()).toBe(model.sort((x, y) => x.at - y.at || x.seq - y.seq)[0]);
  q.clear();
  expect(q.pop()).toBeUndefined();
});

test('DropCounter counts by reason, snapshots sorted copies, resets', () => {
  const d = new DropCounter<'b' | 'a'>();
  d.count('b');
  d.count('a', 3);
  d.count('b');
  expect(d.get('a')).toBe(3);
  expect(d.total).toBe(5);
  const snap = d.snapshot();
  expect(Object.keys(snap)).toEqual(['a', 'b']);
  expect(snap).toEqual({ a: 3, b: 2 });
  snap.a = 100;
  expect(d.get('a')).toBe(3);
  d.reset();
  expect(d.snapshot()).toEqual({});
  expect(d.total).toBe(0);
});
