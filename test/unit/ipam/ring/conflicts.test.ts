/** Merges that must be refused, leaving the ring exactly as it was. */
import { MAX_ENTRIES, MAX_VERSION, Ring, type RingEntry } from '../../../../src/ipam/ring';
import { peer } from './helpers/random';

const [A, B, C] = [peer(0), peer(1), peer(2)];
const e = (token: number, owner: string, version = 1): RingEntry => ({ token, owner, version });

function claimed(owner: string): Ring {
  const r = new Ring();
  r.claimAll(owner);
  return r;
}

describe('conflicts', () => {
  test('two independent claims by different peers conflict both ways', () => {
    const a = claimed(A);
    const b = claimed(B);
    expect(a.merge(b.entries())).toEqual({ ok: false, reason: 'conflict', token: 0, ours: e(0, A), theirs: e(0, B) });
    expect(b.merge(a.entries())).toEqual({ ok: false, reason: 'conflict', token: 0, ours: e(0, B), theirs: e(0, A) });
    expect(a.entries()).toEqual([e(0, A)]);
    expect(b.entries()).toEqual([e(0, B)]);
  });
  test('the same peer claiming twice is no conflict', () => {
    expect(claimed(A).merge(claimed(A).entries())).toEqual({ ok: true, changed: false });
  });
  test('a conflict deep in the ring leaves every earlier token untouched too', () => {
    const ours = new Ring([e(0, A, 1), e(100, B, 2), e(200, A, 1)]);
    const before = ours.clone();
    const res = ours.merge([e(0, A, 5), e(50, C, 1), e(100, C, 2)]);
    expect(res).toMatchObject({ ok: false, reason: 'conflict', token: 100 });
    expect(ours.equals(before)).toBe(true);
  });
  test('merging into an empty ring takes everything; an empty ring is no news', () => {
    const r = new Ring();
    expect(r.merge([e(0, A), e(7, B)])).toEqual({ ok: true, changed: true });
    expect(r.merge([])).toEqual({ ok: true, changed: false });
    expect(r.entries()).toEqual([e(0, A), e(7, B)]);
  });
});

describe('invalid input is refused, ring unchanged', () => {
  const bad: Array<[string, unknown]> = [
    ['not an array', { 0: e(0, A) }],
    ['unsorted', [e(0, A), e(20, B), e(10, C)]],
    ['duplicate token', [e(0, A), e(10, B), e(10, C)]],
    ['duplicate token, same entry', [e(0, A), e(0, A)]],
    ['missing token 0', [e(1, A)]],
    ['owner upper case', [e(0, A.toUpperCase())]],
    ['owner too short', [e(0, 'abc')]],
    ['owner not a string', [{ token: 0, owner: 7, version: 1 }]],
    ['owner missing', [{ token: 0, version: 1 }]],
    ['token not an integer', [e(0, A), e(1.5, B)]],
    ['token negative', [e(-1, A), e(0, B)]],
    ['token 2^32', [e(0, A), e(2 ** 32, B)]],
    ['token a string', [e(0, A), { token: '5', owner: B, version: 1 }]],
    ['token NaN', [e(0, A), e(NaN, B)]],
    ['version 0', [e(0, A, 0)]],
    ['version fractional', [e(0, A, 1.5)]],
    ['version past u32', [e(0, A, MAX_VERSION + 1)]],
    ['version Infinity', [e(0, A, Infinity)]],
    ['entry null', [e(0, A), null]],
    ['oversize', Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => e(i, A))],
  ];
  test.each(bad)('%s', (_name, input) => {
    const r = new Ring([e(0, A, 3), e(10, B, 1)]);
    const before = r.clone();
    const res = r.merge(input as RingEntry[]);
    expect(res.ok).toBe(false);
    expect(res).toMatchObject({ reason: 'invalid', detail: expect.any(String) });
    expect(r.equals(before)).toBe(true);
  });
  test('exactly the limit is fine', () => {
    const r = new Ring();
    expect(r.merge(Array.from({ length: MAX_ENTRIES }, (_, i) => e(i, A)))).toEqual({ ok: true, changed: true });
  });
  test('a merge whose union would pass the limit is refused', () => {
    const r = new Ring(Array.from({ length: MAX_ENTRIES }, (_, i) => e(i * 2, A)));
    const res = r.merge([e(0, A), e(1, B)]);
    expect(res).toMatchObject({ ok: false, reason: 'invalid' });
    expect(r.entries().length).toBe(MAX_ENTRIES);
  });
});
