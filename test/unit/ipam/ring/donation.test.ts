/** chooseDonation: what a peer gives away when asked, checked by example and against a brute-force oracle. */
import { parseCidr, parseIp, type Cidr } from '../../../../src/addr/cidr';
import { chooseDonation, freeRunsFromSorted, scanFreeRuns, SPACE, upperHalf, type Range } from '../../../../src/ipam/ring';
import { rng } from './helpers/random';

const ip = parseIp;
const ALL = parseCidr('0.0.0.0/0');
const freeExcept = (taken: Iterable<number>) => {
  const set = new Set(taken);
  return (a: number): boolean => !set.has(a);
};
const never = (): boolean => {
  throw new Error('isFree must not be asked');
};

describe('half', () => {
  test('an untouched whole space gives its upper half', () => {
    expect(chooseDonation([{ start: 0, end: SPACE }], never, ALL, { kind: 'half' }, freeRunsFromSorted([]))).toEqual({ start: 2 ** 31, end: SPACE });
  });
  test('inside a pool, with the first addresses in use: the upper aligned half of the pool', () => {
    const pool = parseCidr('10.32.0.0/12');
    const used = [ip('10.32.0.1'), ip('10.32.0.2'), ip('10.32.0.9')];
    const got = chooseDonation([{ start: 0, end: SPACE }], never, pool, { kind: 'half' }, freeRunsFromSorted(used));
    expect(got).toEqual({ start: ip('10.40.0.0'), end: ip('10.48.0.0') });
  });
  test('the scanning fallback agrees on a small pool', () => {
    const pool = parseCidr('10.0.0.0/24');
    const used = [ip('10.0.0.1'), ip('10.0.0.200')];
    const owned = [{ start: ip('10.0.0.0'), end: ip('10.0.1.0') }];
    const byScan = chooseDonation(owned, freeExcept(used), pool, { kind: 'half' });
    expect(byScan).toEqual(chooseDonation(owned, never, pool, { kind: 'half' }, freeRunsFromSorted(used)));
    // largest run is .2–.199 (198 addresses): cut at .128, the best-aligned point near its middle
    expect(byScan).toEqual({ start: ip('10.0.0.128'), end: ip('10.0.0.200') });
  });
  test('fully allocated space, or nothing owned in the pool: nothing to give', () => {
    const pool = parseCidr('10.0.0.0/28');
    expect(chooseDonation([{ start: 0, end: SPACE }], () => false, pool, { kind: 'half' })).toBeUndefined();
    expect(chooseDonation([{ start: 0, end: ip('10.0.0.0') }], () => true, pool, { kind: 'half' })).toBeUndefined();
    expect(chooseDonation([], () => true, pool, { kind: 'half' })).toBeUndefined();
  });
  test('a single free address is given whole', () => {
    const pool = parseCidr('10.0.0.0/29');
    const got = chooseDonation([{ start: 0, end: SPACE }], freeExcept([0, 1, 2, 4, 5, 6, 7].map((k) => ip('10.0.0.0') + k)), pool, { kind: 'half' });
    expect(got).toEqual({ start: ip('10.0.0.3'), end: ip('10.0.0.4') });
  });
  test('fragmented: the largest run wins even when it straddles two owned ranges', () => {
    const base = ip('10.0.0.0');
    const owned = [{ start: base, end: base + 40 }, { start: base + 40, end: base + 64 }, { start: base + 100, end: base + 256 }];
    const used = [5, 20, 30, 50, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 220, 230, 240, 250].map((k) => base + k);
    const got = chooseDonation(owned, never, parseCidr('10.0.0.0/24'), { kind: 'half' }, freeRunsFromSorted(used));
    // runs: 31–49 (19), 51–63 (13), 100–109 (10), … the 19-address run straddles the join at 40
    expect(got).toEqual({ start: base + 40, end: base + 50 });
  });
  test('huge spaces are handled through runs, with an early exit', () => {
    const owned = Array.from({ length: 1000 }, (_, i) => ({ start: i * 2 ** 22, end: i * 2 ** 22 + 2 ** 21 + (i === 500 ? 2 ** 20 : 0) }));
    const r = rng(3);
    const used = Array.from({ length: 20000 }, () => r.int(SPACE)).sort((a, b) => a - b);
    const runs = freeRunsFromSorted(used.filter((a) => a < 500 * 2 ** 22 || a >= 501 * 2 ** 22)); // range 500 is all free
    const calls: Range[] = [];
    const spy = (s: number, e: number) => {
      calls.push({ start: s, end: e });
      return runs(s, e);
    };
    const got = chooseDonation(owned, never, ALL, { kind: 'half' }, spy);
    // range 500 is the largest and wholly free, so no other range need be looked at
    expect(got).toEqual({ start: 500 * 2 ** 22 + 2 ** 21, end: 500 * 2 ** 22 + 3 * 2 ** 20 });
    expect(calls).toEqual([{ start: 500 * 2 ** 22, end: 500 * 2 ** 22 + 3 * 2 ** 20 }]);
  });
  test('upperHalf cuts at the best-aligned point, leaving at least a quarter each side', () => {
    expect(upperHalf({ start: 0, end: 256 })).toEqual({ start: 128, end: 256 });
    expect(upperHalf({ start: 10, end: 100 })).toEqual({ start: 64, end: 100 });
    expect(upperHalf({ start: 7, end: 9 })).toEqual({ start: 8, end: 9 });
    expect(upperHalf({ start: 7, end: 8 })).toEqual({ start: 7, end: 8 });
    expect(upperHalf({ start: 5, end: SPACE })).toEqual({ start: 2 ** 31, end: SPACE });
  });
});

describe('half, against a brute-force oracle', () => {
  test.each(Array.from({ length: 300 }, (_, i) => i + 1))('seed %i', (seed) => {
    const r = rng(seed);
    const within: Cidr = { base: 1024, prefix: 32 - r.between(0, 8) };
    const lo = within.base - 64;
    const hi = within.base + 2 ** (32 - within.prefix) + 64;
    const owned = Array.from({ length: r.int(5) }, () => {
      const a = r.between(lo, hi);
      const b = r.between(lo, hi);
      return { start: Math.min(a, b), end: Math.max(a, b) };
    });
    const density = r();
    const used: number[] = [];
    for (let a = lo; a < hi; a++) if (r() < density) used.push(a);
    const isFree = freeExcept(used);
    const ok = (a: number): boolean => a >= within.base && a < hi - 64 && owned.some((o) => o.start <= a && a < o.end) && isFree(a);

    let bestLen = 0;
    const bestRuns: Range[] = [];
    for (let a = lo; a < hi; ) {
      if (!ok(a)) {
        a++;
        continue;
      }
      let b = a;
      while (ok(b)) b++;
      if (b - a > bestLen) bestRuns.length = 0;
      if (b - a >= bestLen) {
        bestLen = b - a;
        bestRuns.push({ start: a, end: b });
      }
      a = b;
    }

    const got = chooseDonation(owned, isFree, within, { kind: 'half' });
    expect(chooseDonation(owned, never, within, { kind: 'half' }, freeRunsFromSorted(used))).toEqual(got);
    if (bestLen === 0) {
      expect(got).toBeUndefined();
      return;
    }
    expect(got).toBeDefined();
    const run = bestRuns.find((x) => x.end === got!.end && x.start <= got!.start);
    expect(run).toBeDefined();
    const n = got!.end - got!.start;
    expect(n).toBeGreaterThanOrEqual(Math.max(1, Math.floor(bestLen / 4)));
    expect(n).toBeLessThanOrEqual(bestLen === 1 ? 1 : bestLen - Math.max(1, Math.floor(bestLen / 4)));
  });
});

describe('address', () => {
  const pool = parseCidr('10.0.0.0/24');
  const owned = [{ start: ip('10.0.0.0'), end: ip('10.0.1.0') }];
  const want = (a: string) => ({ kind: 'address' as const, ip: ip(a) });

  test('a free /28 around the address when there is one', () => {
    expect(chooseDonation(owned, () => true, pool, want('10.0.0.37'))).toEqual({ start: ip('10.0.0.32'), end: ip('10.0.0.48') });
  });
  test('smaller blocks when neighbours are taken, down to the address alone', () => {
    expect(chooseDonation(owned, freeExcept([ip('10.0.0.32')]), pool, want('10.0.0.37'))).toEqual({ start: ip('10.0.0.36'), end: ip('10.0.0.40') });
    expect(chooseDonation(owned, freeExcept([ip('10.0.0.36')]), pool, want('10.0.0.37'))).toEqual({ start: ip('10.0.0.37'), end: ip('10.0.0.38') });
  });
  test('blocks stay inside what is owned and inside the pool', () => {
    const partial = [{ start: ip('10.0.0.35'), end: ip('10.0.0.40') }];
    expect(chooseDonation(partial, () => true, pool, want('10.0.0.37'))).toEqual({ start: ip('10.0.0.36'), end: ip('10.0.0.40') });
    expect(chooseDonation(owned, () => true, parseCidr('10.0.0.36/30'), want('10.0.0.37'))).toEqual({ start: ip('10.0.0.36'), end: ip('10.0.0.40') });
  });
  test('the address taken, not owned, or outside the pool: nothing', () => {
    expect(chooseDonation(owned, freeExcept([ip('10.0.0.37')]), pool, want('10.0.0.37'))).toBeUndefined();
    expect(chooseDonation([{ start: 0, end: ip('10.0.0.37') }], () => true, pool, want('10.0.0.37'))).toBeUndefined();
    expect(chooseDonation([{ start: 0, end: SPACE }], () => true, pool, want('10.0.1.1'))).toBeUndefined();
    expect(chooseDonation(owned, () => true, pool, { kind: 'address', ip: 1.5 })).toBeUndefined();
  });
  test('only the block is looked at (a few isFree calls), however large the owned space', () => {
    let calls = 0;
    const got = chooseDonation([{ start: 0, end: SPACE }], () => (calls++, true), ALL, want('10.1.2.3'));
    expect(got).toEqual({ start: ip('10.1.2.0'), end: ip('10.1.2.16') });
    expect(calls).toBe(16);
  });
});

describe('free-run sources', () => {
  test('freeRunsFromSorted and scanFreeRuns list the same runs', () => {
    const r = rng(11);
    for (let t = 0; t < 100; t++) {
      const used = [...new Set(Array.from({ length: r.int(30) }, () => r.int(200)))].sort((a, b) => a - b);
      const s = r.int(200);
      const e = s + r.int(200 - s + 1);
      expect([...freeRunsFromSorted(used)(s, e)]).toEqual([...scanFreeRuns(freeExcept(used))(s, e)]);
    }
  });
});
