import { MemoryNetwork, type MemoryNetworkOptions } from '../../../src/mesh/transport/memory';
import type { Addr, Transport } from '../../../src/mesh/transport/types';
import { FakeScheduler } from '../../../src/util/scheduler';

const addr = (i: number): Addr => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:6783`;
const msg = (s: string) => Buffer.from(s);

interface Received {
  data: string;
  from: Addr;
  at: number;
}

function setup(n: number, o: MemoryNetworkOptions = {}) {
  const s = new FakeScheduler(0);
  const net = new MemoryNetwork(s, o);
  const ts: Transport[] = [];
  const inbox: Received[][] = [];
  for (let i = 0; i < n; i++) {
    const t = net.transport(addr(i));
    const box: Received[] = [];
    t.onReceive((data, from) => box.push({ data: data.toString(), from, at: s.now() }));
    ts.push(t);
    inbox.push(box);
  }
  return { s, net, ts, inbox };
}

describe('delivery', () => {
  test('happens on scheduler time after the latency, never inside send', () => {
    const { s, ts, inbox } = setup(2, { latencyMs: 5 });
    ts[0].send(addr(1), msg('hi'));
    expect(inbox[1]).toEqual([]);
    s.advance(4);
    expect(inbox[1]).toEqual([]);
    s.advance(1);
    expect(inbox[1]).toEqual([{ data: 'hi', from: addr(0), at: 5 }]);
  });

  test('zero latency still waits for the scheduler', () => {
    const { s, ts, inbox } = setup(2, { latencyMs: 0 });
    ts[0].send(addr(1), msg('now'));
    expect(inbox[1]).toHaveLength(0);
    s.flush();
    expect(inbox[1]).toHaveLength(1);
  });

  test('without jitter, order is kept; replies from handlers are delivered later', () => {
    const { s, ts, inbox } = setup(2, { latencyMs: 3 });
    ts[1].onReceive((data, from) => {
      inbox[1].push({ data: data.toString(), from, at: s.now() });
      ts[1].send(from, msg(`re:${data.toString()}`));
    });
    for (let i = 0; i < 50; i++) ts[0].send(addr(1), msg(String(i)));
    s.advance(10);
    expect(inbox[1].map((r) => r.data)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(inbox[0].map((r) => r.data)).toEqual(Array.from({ length: 50 }, (_, i) => `re:${i}`));
    expect(inbox[0].every((r) => r.at === 6)).toBe(true);
  });

  test('jitter reorders, within latency .. latency + jitter', () => {
    const { s, ts, inbox } = setup(2, { latencyMs: 10, jitterMs: 20, seed: 3 });
    for (let i = 0; i < 200; i++) ts[0].send(addr(1), msg(String(i)));
    s.advance(100);
    const got = inbox[1].map((r) => Number(r.data));
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(got).not.toEqual([...got].sort((a, b) => a - b));
    expect(Math.min(...inbox[1].map((r) => r.at))).toBeGreaterThanOrEqual(10);
    expect(Math.max(...inbox[1].map((r) => r.at))).toBeLessThanOrEqual(30);
  });

  test('the receiver gets a copy: the sender may reuse its buffer', () => {
    const { s, ts, inbox } = setup(2);
    const buf = msg('original');
    ts[0].send(addr(1), buf);
    buf.fill(0);
    s.advance(1);
    expect(inbox[1][0].data).toBe('original');
  });

  test('replacing the handler', () => {
    const { s, ts, inbox } = setup(2);
    const other: string[] = [];
    ts[1].onReceive((d) => other.push(d.toString()));
    ts[0].send(addr(1), msg('x'));
    s.advance(1);
    expect(inbox[1]).toHaveLength(0);
    expect(other).toEqual(['x']);
  });
});

describe('loss and duplication', () => {
  const N = 20_000;

  test('rates are close to the configured ones', () => {
    const { s, net, ts, inbox } = setup(2, { loss: 0.2, duplicate: 0.1, seed: 11 });
    for (let i = 0; i < N; i++) ts[0].send(addr(1), msg('m'));
    s.advance(5);
    const st = net.stats;
    expect(st.sent).toBe(N);
    expect(st.dropped.loss / N).toBeGreaterThan(0.19);
    expect(st.dropped.loss / N).toBeLessThan(0.21);
    expect(st.duplicated / (N - st.dropped.loss)).toBeGreaterThan(0.09);
    expect(st.duplicated / (N - st.dropped.loss)).toBeLessThan(0.11);
    expect(inbox[1]).toHaveLength(N - st.dropped.loss + st.duplicated);
    expect(st.delivered).toBe(inbox[1].length);
    expect(st.inFlight).toBe(0);
  });

  test('the same seed repeats the same run; another seed does not', () => {
    const run = (seed: number) => {
      const { s, ts, inbox } = setup(2, { loss: 0.3, duplicate: 0.2, jitterMs: 5, seed });
      for (let i = 0; i < 500; i++) ts[0].send(addr(1), msg(String(i)));
      s.advance(20);
      return inbox[1].map((r) => `${r.data}@${r.at}`).join(',');
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });

  test('setLoss changes the rate at once; bad rates are refused', () => {
    const { s, net, ts, inbox } = setup(2);
    net.setLoss(1);
    ts[0].send(addr(1), msg('lost'));
    net.setLoss(0);
    ts[0].send(addr(1), msg('kept'));
    s.advance(1);
    expect(inbox[1].map((r) => r.data)).toEqual(['kept']);
    expect(() => net.setLoss(1.5)).toThrow(RangeError);
    expect(() => new MemoryNetwork(s, { duplicate: -0.1 })).toThrow(RangeError);
    expect(() => new MemoryNetwork(s, { latencyMs: -1 })).toThrow(RangeError);
  });
});

describe('partitions and blocks', () => {
  test('partition cuts both ways between groups only; heal restores', () => {
    const { s, net, ts, inbox } = setup(4);
    net.partition([addr(0), addr(1)], [addr(2), addr(3)]);
    const all = () => {
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (i !== j) ts[i].send(addr(j), msg(`${i}>${j}`));
      s.advance(1);
    };
    all();
    expect(inbox.map((b) => b.map((r) => r.data))).toEqual([['1>0'], ['0>1'], ['3>2'], ['2>3']]);
    expect(net.stats.dropped.partitioned).toBe(8);
    net.heal();
    for (const b of inbox) b.length = 0;
    all();
    expect(inbox.map((b) => b.length)).toEqual([3, 3, 3, 3]);
  });

  test('block is one way', () => {
    const { s, net, ts, inbox } = setup(2);
    net.block(addr(0), addr(1));
    ts[0].send(addr(1), msg('blocked'));
    ts[1].send(addr(0), msg('flows'));
    s.advance(1);
    expect(inbox[1]).toHaveLength(0);
    expect(inbox[0].map((r) => r.data)).toEqual(['flows']);
    expect(net.stats.dropped).toEqual({ blocked: 1 });
    net.heal();
    ts[0].send(addr(1), msg('after heal'));
    s.advance(1);
    expect(inbox[1].map((r) => r.data)).toEqual(['after heal']);
  });
});

describe('failures are counted, never thrown', () => {
  test('unknown peer, oversized datagram, no handler', () => {
    const { s, net, ts } = setup(2);
    const silent = net.transport(addr(9));
    ts[0].send(addr(7), msg('nobody'));
    ts[0].send(addr(1), Buffer.alloc(65508)); // over the largest IPv4 UDP payload
    ts[0].send(silent.address, msg('no handler'));
    s.advance(1);
    expect(net.stats.dropped).toEqual({ noHandler: 1, tooLarge: 1, unknownPeer: 1 });
  });

  test('a closed transport receives nothing, even what was in flight, and cannot send', async () => {
    const { s, net, ts, inbox } = setup(2, { latencyMs: 5 });
    ts[0].send(addr(1), msg('in flight'));
    await ts[1].close();
    await ts[1].close(); // idempotent
    s.advance(10);
    expect(inbox[1]).toHaveLength(0);
    ts[0].send(addr(1), msg('after close'));
    ts[1].send(addr(0), msg('from the closed one'));
    s.advance(10);
    expect(inbox[0]).toHaveLength(0);
    expect(net.stats.dropped).toEqual({ receiverClosed: 1, senderClosed: 1, unknownPeer: 1 });
    // the address can be used again, like a restarted peer
    const again = net.transport(addr(1));
    const got: string[] = [];
    again.onReceive((d) => got.push(d.toString()));
    ts[0].send(addr(1), msg('hello again'));
    s.advance(10);
    expect(got).toEqual(['hello again']);
  });

  test('addresses must be canonical and free', () => {
    const { net } = setup(1);
    expect(() => net.transport(addr(0))).toThrow(/in use/);
    expect(() => net.transport('10.0.0.1')).toThrow(/canonical/);
    expect(() => net.transport('nonsense')).toThrow(/bad peer address/);
  });
});

test('scales: 500 transports each broadcast to all others (249,500 datagrams)', () => {
  const n = 500;
  const s = new FakeScheduler(0);
  const net = new MemoryNetwork(s, { latencyMs: 2, jitterMs: 3, seed: 1 });
  const counts = new Uint32Array(n);
  const ts = Array.from({ length: n }, (_, i) => {
    const t = net.transport(addr(i));
    t.onReceive(() => counts[i]++);
    return t;
  });
  const payload = Buffer.alloc(100, 1);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) ts[i].send(ts[j].address, payload);
  expect(net.stats.inFlight).toBe(n * (n - 1));
  s.advance(5);
  expect(net.stats).toEqual({ sent: n * (n - 1), delivered: n * (n - 1), duplicated: 0, inFlight: 0, dropped: {} });
  expect(counts.every((c) => c === n - 1)).toBe(true);
  // one scheduler timer serves the whole network, not one per datagram
  expect(s.pending).toBe(0);
});
