import { MAX_UDP_PAYLOAD } from '../../../../src/mesh/transport/framing';
import { SendBufferPool } from '../../../../src/mesh/transport/sendBuffers';

const small = Buffer.poolSize >>> 1;

test('take gives exactly the size asked for; a buffer given back is the next one taken, as a view at its start', () => {
  const pool = new SendBufferPool();
  expect(pool.capacity).toBe(MAX_UDP_PAYLOAD);
  const a = pool.take(60_000);
  expect(a.length).toBe(60_000);
  expect(a.byteOffset).toBe(0);
  expect(a.buffer.byteLength).toBe(MAX_UDP_PAYLOAD);
  const b = pool.take(MAX_UDP_PAYLOAD);
  expect(b.buffer).not.toBe(a.buffer);
  expect(pool.stats).toEqual({ allocated: 2, reused: 0, oneOff: 0, doubleGives: 0, free: 0 });
  pool.give(a);
  expect(pool.stats.free).toBe(1);
  const c = pool.take(5000);
  expect(c.length).toBe(5000);
  expect(c.buffer).toBe(a.buffer);
  expect(c.byteOffset).toBe(0);
  expect(pool.stats).toEqual({ allocated: 2, reused: 1, oneOff: 0, doubleGives: 0, free: 0 });
});

test('pooled buffers have an ArrayBuffer of their own, never a slice of Buffer\'s shared slab', () => {
  const pool = new SendBufferPool({ capacity: 5000, minPooled: 0 });
  const a = pool.take(10);
  const b = pool.take(10);
  expect(a.buffer.byteLength).toBe(5000);
  expect(b.buffer).not.toBe(a.buffer);
});

test('a size over the capacity, or under minPooled, is a one-off: not taken back', () => {
  const pool = new SendBufferPool({ capacity: 10_000 });
  const big = pool.take(10_001);
  const tiny = pool.take(small - 1);
  expect(big.length).toBe(10_001);
  expect(tiny.length).toBe(small - 1);
  expect(pool.isLent(big)).toBe(false);
  pool.give(big);
  pool.give(tiny);
  expect(pool.stats).toEqual({ allocated: 0, reused: 0, oneOff: 2, doubleGives: 0, free: 0 });
  // the bounds themselves are pooled
  pool.give(pool.take(10_000));
  pool.give(pool.take(small));
  expect(pool.stats).toMatchObject({ allocated: 1, reused: 1, oneOff: 2, free: 1 });
});

test('buffers the pool did not make are ignored, whatever their size', () => {
  const pool = new SendBufferPool();
  for (const b of [Buffer.allocUnsafeSlow(MAX_UDP_PAYLOAD), Buffer.alloc(10), new Uint8Array(100_000)]) pool.give(b);
  expect(pool.stats).toEqual({ allocated: 0, reused: 0, oneOff: 0, doubleGives: 0, free: 0 });
  expect(pool.take(small).buffer.byteLength).toBe(MAX_UDP_PAYLOAD);
  expect(pool.stats.allocated).toBe(1);
});

test('a buffer given back twice goes on the free list once, and is counted', () => {
  const pool = new SendBufferPool();
  const a = pool.take(20_000);
  pool.give(a);
  pool.give(a);
  // any view of it counts as the same buffer
  pool.give(a.subarray(8));
  expect(pool.stats).toEqual({ allocated: 1, reused: 0, oneOff: 0, doubleGives: 2, free: 1 });
  // two takers never share one buffer
  const x = pool.take(20_000);
  const y = pool.take(20_000);
  expect(x.buffer).toBe(a.buffer);
  expect(y.buffer).not.toBe(x.buffer);
  // a buffer dropped for want of room is still known: giving it again is a double give, not a foreign buffer
  const bounded = new SendBufferPool({ maxFree: 0 });
  const d = bounded.take(small);
  bounded.give(d);
  bounded.give(d);
  expect(bounded.stats).toEqual({ allocated: 1, reused: 0, oneOff: 0, doubleGives: 1, free: 0 });
});

test('isLent: true from take to give, for the buffer or any view of it', () => {
  const pool = new SendBufferPool();
  const a = pool.take(small);
  expect(pool.isLent(a)).toBe(true);
  expect(pool.isLent(a.subarray(3, 9))).toBe(true);
  pool.give(a);
  expect(pool.isLent(a)).toBe(false);
  expect(pool.isLent(Buffer.alloc(small))).toBe(false);
});

test('the free list is bounded: beyond maxFree, buffers given back are left to GC', () => {
  const pool = new SendBufferPool({ maxFree: 4 });
  const out = Array.from({ length: 10 }, () => pool.take(small));
  for (const b of out) pool.give(b);
  expect(pool.stats).toEqual({ allocated: 10, reused: 0, oneOff: 0, doubleGives: 0, free: 4 });
  const again = Array.from({ length: 10 }, () => pool.take(small));
  expect(pool.stats).toEqual({ allocated: 16, reused: 4, oneOff: 0, doubleGives: 0, free: 0 });
  // the four kept are the last four given back
  expect(new Set(again.slice(0, 4).map((b) => b.buffer))).toEqual(new Set(out.slice(6).map((b) => b.buffer)));
  expect(new SendBufferPool().stats.free).toBe(0);
});

test('bad sizes and options are refused', () => {
  const pool = new SendBufferPool();
  for (const bad of [-1, 1.5, NaN]) expect(() => pool.take(bad)).toThrow(RangeError);
  expect(pool.take(0).length).toBe(0);
  expect(() => new SendBufferPool({ capacity: 0 })).toThrow(RangeError);
  expect(() => new SendBufferPool({ maxFree: -1 })).toThrow(RangeError);
});
