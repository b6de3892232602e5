/**
 * FramedTransport over the simulated network: messages of any size up to the
 * mesh's largest arrive whole or not at all, through loss, duplication and
 * reordering, and reads holding several records (what UDP GRO hands over) are
 * split. The kernel's GSO cut is not simulated: a GSO send arrives as one
 * datagram, which is what GRO gives the receiver between namespaces.
 */
import { FramedTransport } from '../../../../src/mesh/transport/framed';
import { HEADER_BYTES, layout } from '../../../../src/mesh/transport/framing';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../../../src/mesh/transport/memory';
import { SendBufferPool } from '../../../../src/mesh/transport/sendBuffers';
import type { Transport } from '../../../../src/mesh/transport/types';
import { FakeScheduler } from '../../../../src/util/scheduler';
import { seededRandom } from '../../../../src/util/random';

const A = '10.0.0.1:6783';
const B = '10.0.0.2:6783';

function pair(segment: number | undefined, o: MemoryNetworkOptions = {}) {
  const s = new FakeScheduler(0);
  const net = new MemoryNetwork(s, o);
  const rawA = net.transport(A);
  const rawB = net.transport(B);
  const a = new FramedTransport(rawA, { ...(segment !== undefined ? { segment } : {}), now: () => s.now() });
  const b = new FramedTransport(rawB, { ...(segment !== undefined ? { segment } : {}), now: () => s.now() });
  const atB: Buffer[] = [];
  b.onReceive((m, from) => {
    expect(from).toBe(A);
    atB.push(m);
  });
  return { s, net, a, b, rawA, rawB, atB };
}

const message = (rand: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

test.each([undefined, 200, 1472, 8972])('segment %s: messages from 0 bytes to 64 KiB arrive intact and in order on a clean network', (segment) => {
  const { s, a, atB } = pair(segment);
  const rand = seededRandom(7);
  const sent = [0, 1, 100, 1463, 1464, 1465, 20_000, 64_934, 65_000].map((n) => message(rand, n));
  for (const m of sent) a.send(B, m);
  s.advance(10);
  // 255 chunks at most: a 200-byte segment carries 48,960 bytes, the others all of these
  const fits = sent.filter((m) => segment === undefined || m.length <= 255 * (segment - HEADER_BYTES));
  // Buffer.equals: jest's deep equality walks 64 KiB buffers byte by byte, for seconds
  expect(atB.length).toBe(fits.length);
  expect(atB.every((m, i) => m.equals(fits[i]))).toBe(true);
  expect(a.drops.get('tooLarge')).toBe(sent.length - fits.length);
});

test('through loss, duplication and reordering: every message delivered is one that was sent, whole, once; lost chunks are counted', () => {
  const { s, a, b, atB } = pair(1472, { loss: 0.002, duplicate: 0.05, jitterMs: 3 });
  const rand = seededRandom(11);
  const sent = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    // small sends, one chunk per datagram, so loss hits single chunks
    const m = message(rand, 1 + Math.floor(rand() * 1400));
    sent.set(m.toString('hex'), (sent.get(m.toString('hex')) ?? 0) + 1);
    a.send(B, m);
  }
  s.advance(100);
  for (const m of atB) expect(sent.has(m.toString('hex'))).toBe(true);
  expect(atB.length).toBeGreaterThan(250);
  expect(b.pending).toEqual({ messages: 0, bytes: 0 });
});

test('a message missing a chunk is dropped after the timeout and counted; the next ones still arrive', () => {
  const { s, rawA, b, atB } = pair(1472);
  const big = Buffer.alloc(10_000, 3);
  // the chunks one by one, one left out
  const chunks = layout(big, 9, 1472).flatMap((buf) => {
    const out: Buffer[] = [];
    for (let at = 0; at < buf.length; at += 1472) out.push(buf.subarray(at, Math.min(buf.length, at + 1472)));
    return out;
  });
  expect(chunks.length).toBe(7);
  for (const c of chunks.slice(1)) rawA.send(B, c);
  s.advance(10);
  expect(atB).toEqual([]);
  expect(b.pending.messages).toBe(1);
  s.advance(2500);
  rawA.send(B, layout(Buffer.from('later'), 10)[0]);
  s.advance(10);
  expect(atB.map((m) => m.toString())).toEqual(['later']);
  expect(b.drops.snapshot()).toEqual({ reassemblyTimeout: 1 });
  expect(b.pending.messages).toBe(0);
});

test('a read holding several records (GRO) gives each message; garbage after them is counted once', () => {
  const { s, rawA, atB, b } = pair(undefined);
  const read = Buffer.concat([layout(Buffer.from('one'), 1)[0], layout(Buffer.from('two'), 2)[0], Buffer.from('junk!junk')]);
  rawA.send(B, read);
  s.advance(10);
  expect(atB.map((m) => m.toString())).toEqual(['one', 'two']);
  expect(b.drops.snapshot()).toEqual({ badFrame: 1 });
});

test('a handler that throws costs only its own message', () => {
  const { s, a, b } = pair(undefined);
  const got: string[] = [];
  b.onReceive((m) => {
    if (m.toString() === 'bad') throw new Error('boom');
    got.push(m.toString());
  });
  const read = Buffer.concat(['x', 'bad', 'y'].map((t, i) => layout(Buffer.from(t), i)[0]));
  (a as unknown as { inner: { send(to: string, d: Buffer): void } }).inner.send(B, read);
  s.advance(10);
  expect(got).toEqual(['x', 'y']);
  expect(b.drops.snapshot()).toEqual({ handlerError: 1 });
});

test('sendRaw goes out unframed; a message too large for the framing is counted, not thrown', () => {
  const { s, a, rawB, b } = pair(1472);
  const raw: Buffer[] = [];
  rawB.onReceive((d) => raw.push(d));
  a.sendRaw(B, Buffer.from('vxlan probe'));
  s.advance(10);
  expect(raw.map((d) => d.toString())).toEqual(['vxlan probe']);
  expect(() => a.send(B, Buffer.alloc(255 * (1472 - HEADER_BYTES) + 1))).not.toThrow();
  expect(a.drops.snapshot()).toEqual({ tooLarge: 1 });
  expect(b.drops.total).toBe(0);
});

test('a message whose chunks all come in one read, in order, skips reassembly; singleSendCapacity is what fits one send', () => {
  const s = new FakeScheduler(0);
  const net = new MemoryNetwork(s);
  const a = new FramedTransport(net.transport(A), { segment: 1472, now: () => s.now() });
  // a reassembler that can hold nothing: only the fast path can deliver a chunked message
  const b = new FramedTransport(net.transport(B), { segment: 1472, now: () => s.now(), maxBytes: 0 });
  const got: number[] = [];
  b.onReceive((m) => got.push(m.length));
  // 44 full records and a short 45th: MAX_GSO_SEND - 44 * 1472 - 8 = 713 bytes more
  expect(a.singleSendCapacity).toBe(44 * 1464 + 713);
  a.send(B, Buffer.alloc(a.singleSendCapacity, 1));
  a.send(B, Buffer.alloc(a.singleSendCapacity + 1, 2)); // two sends: needs reassembly, which holds nothing here
  s.advance(10);
  expect(got).toEqual([44 * 1464 + 713]);
  expect(b.drops.get('reassemblyOverflow')).toBeGreaterThan(0);
  expect(new FramedTransport(net.transport('10.0.0.3:6783'), { now: () => 0 }).singleSendCapacity).toBe(65507 - HEADER_BYTES);
});

test("over a transport with sendBuffer(), every send buffer is one of the inner transport's, sent once", () => {
  const s = new FakeScheduler(0);
  const net = new MemoryNetwork(s);
  const rawA = net.transport(A);
  const pool = new SendBufferPool({ minPooled: 0 });
  const sentBuffers: Uint8Array[] = [];
  // the simulated network copies in send(), so a buffer may go back to the pool at once
  const inner: Transport = {
    address: rawA.address,
    sendBuffer: (size) => pool.take(size),
    send: (to, data) => {
      expect(Array.isArray(data)).toBe(false);
      const b = data as Uint8Array;
      expect(pool.isLent(b)).toBe(true);
      sentBuffers.push(b);
      rawA.send(to, b);
      pool.give(b);
    },
    sendRaw: (to, data) => rawA.sendRaw(to, data),
    onReceive: (h) => rawA.onReceive(h),
    close: () => rawA.close(),
  };
  const a = new FramedTransport(inner, { segment: 1472, now: () => s.now() });
  const b = new FramedTransport(net.transport(B), { segment: 1472, now: () => s.now() });
  const got: Buffer[] = [];
  b.onReceive((m) => got.push(m));
  const rand = seededRandom(3);
  const sent = [1, 1464, 1465, 40_000, 65_400].map((n) => message(rand, n));
  for (const m of sent) a.send(B, m);
  s.advance(10);
  expect(got.map((m, i) => m.equals(sent[i]))).toEqual(sent.map(() => true));
  expect(sentBuffers.length).toBe(6); // 65,400 bytes take two sends over 1472
  // layout takes a message's buffers before it sends any: the two-send one holds two at once
  expect(pool.stats).toMatchObject({ allocated: 2, reused: 4, oneOff: 0, doubleGives: 0 });
});

test.each([undefined, 1472])('segment %s: copiesOnSend holds: a message overwritten once send() returns still arrives as it was', (segment) => {
  const { s, a, atB } = pair(segment);
  expect(a.copiesOnSend).toBe(true);
  const scratch = message(seededRandom(5), 30_000);
  const sent: Buffer[] = [];
  for (let i = 0; i < 5; i++) {
    scratch.fill(i, 0, 100);
    sent.push(Buffer.from(scratch));
    a.send(B, [scratch.subarray(0, 10), scratch.subarray(10)]);
  }
  scratch.fill(0xee);
  s.advance(10);
  expect(atB.length).toBe(5);
  expect(atB.every((m, i) => m.equals(sent[i]))).toBe(true);
});
