/** Ring operations and queries: claimAll, transfer and reclaim edge cases. */
import { parseCidr } from '../../../../src/addr/cidr';
import { MAX_ENTRIES, MAX_VERSION, Ring, RingError, SPACE, type RingEntry } from '../../../../src/ipam/ring';
import { peer } from './helpers/random';

const [A, B, C, D] = [peer(0), peer(1), peer(2), peer(3)];
const e = (token: number, owner: string, version = 1): RingEntry => ({ token, owner, version });
const tuples = (r: Ring): Array<[number, string, number]> => r.entries().map((x) => [x.token, x.owner, x.version]);

function claimed(owner = A): Ring {
  const r = new Ring();
  r.claimAll(owner);
  return r;
}

function expectRingError(f: () => unknown, code: string): void {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RingError);
    expect((err as RingError).code).toBe(code);
    return;
  }
  throw new Error(`expected RingError ${code}`);
}

describe('claimAll', () => {
  test('an empty ring owns nothing; a claim takes the whole space at version 1', () => {
    const r = new Ring();
    expect(r.isEmpty()).toBe(true);
    expect(r.owner(0)).toBeUndefined();
    expect(r.peers()).toEqual([]);
    r.claimAll(A);
    expect(tuples(r)).toEqual([[0, A, 1]]);
    expect(r.owner(0)).toBe(A);
    expect(r.owner(SPACE - 1)).toBe(A);
    expect(r.rangesOf(A)).toEqual([{ start: 0, end: SPACE }]);
  });
  test('refused on a non-empty ring or for a malformed id', () => {
    const r = claimed();
    expectRingError(() => r.claimAll(B), 'NotEmpty');
    expectRingError(() => new Ring().claimAll('ABCDEF0123456789'), 'BadPeer');
    expect(tuples(r)).toEqual([[0, A, 1]]);
  });
});

describe('transfer', () => {
  test('the whole space: token 0 changes hands, version bumped, no new tokens', () => {
    const r = claimed();
    r.transfer(A, B, 0, SPACE);
    expect(tuples(r)).toEqual([[0, B, 2]]);
  });
  test('a single address in the middle gets a token each side', () => {
    const r = claimed();
    r.transfer(A, B, 1000, 1001);
    expect(tuples(r)).toEqual([[0, A, 1], [1000, B, 1], [1001, A, 1]]);
    expect([r.owner(999), r.owner(1000), r.owner(1001)]).toEqual([A, B, A]);
  });
  test('at 0 and at the very last address', () => {
    const r = claimed();
    r.transfer(A, B, 0, 1);
    r.transfer(A, C, SPACE - 1, SPACE);
    expect(tuples(r)).toEqual([[0, B, 2], [1, A, 1], [SPACE - 1, C, 1]]);
    expect(r.owner(SPACE - 1)).toBe(C);
    expect(r.owner(SPACE)).toBeUndefined();
    expect(r.owner(-1)).toBeUndefined();
    expect(r.owner(1.5)).toBeUndefined();
  });
  test('ending at 2^32 adds only the start token', () => {
    const r = claimed();
    r.transfer(A, B, 2 ** 31, SPACE);
    expect(tuples(r)).toEqual([[0, A, 1], [2 ** 31, B, 1]]);
  });
  test('existing boundary tokens are reused, never duplicated', () => {
    const r = claimed();
    r.transfer(A, B, 100, 200);
    r.transfer(B, C, 100, 200);
    expect(tuples(r)).toEqual([[0, A, 1], [100, C, 2], [200, A, 1]]);
  });
  test('spanning several tokens of the same owner bumps each of them', () => {
    const r = claimed();
    r.transfer(A, B, 100, 200);
    r.transfer(B, A, 100, 200); // A owns everything again, through three tokens
    expect(tuples(r)).toEqual([[0, A, 1], [100, A, 2], [200, A, 1]]);
    r.transfer(A, D, 50, 300);
    expect(tuples(r)).toEqual([[0, A, 1], [50, D, 1], [100, D, 3], [200, D, 2], [300, A, 1]]);
    expect(r.rangesOf(D)).toEqual([{ start: 50, end: 300 }]);
  });
  test('addresses from does not own: typed error, ring unchanged', () => {
    const r = claimed();
    r.transfer(A, B, 100, 200);
    const before = r.clone();
    expectRingError(() => r.transfer(A, C, 150, 160), 'NotOwner'); // wholly B's
    expectRingError(() => r.transfer(A, C, 50, 150), 'NotOwner'); // partly B's
    expectRingError(() => r.transfer(A, C, 0, SPACE), 'NotOwner');
    expectRingError(() => r.transfer(B, C, 100, 201), 'NotOwner'); // one past B's end
    expectRingError(() => r.transfer(C, A, 0, 1), 'NotOwner');
    expectRingError(() => new Ring().transfer(A, B, 0, 1), 'NotOwner');
    expect(r.equals(before)).toBe(true);
  });
  test.each([
    [0, 0], [5, 5], [6, 5], [-1, 5], [0, SPACE + 1], [0.5, 5], [0, NaN], [SPACE, SPACE + 1],
  ])('bad range [%d, %d)', (s, t) => {
    const r = claimed();
    expectRingError(() => r.transfer(A, B, s, t), 'BadRange');
    expect(tuples(r)).toEqual([[0, A, 1]]);
  });
  test('bad peers', () => {
    const r = claimed();
    expectRingError(() => r.transfer(A, A, 0, 5), 'BadPeer');
    expectRingError(() => r.transfer(A, 'nope', 0, 5), 'BadPeer');
    expectRingError(() => r.transfer('x' as string, B, 0, 5), 'BadPeer');
    expect(tuples(r)).toEqual([[0, A, 1]]);
  });
  test('refuses to grow the ring past the wire limit', () => {
    const big = Array.from({ length: MAX_ENTRIES - 1 }, (_, i) => e(i * 16, i % 2 ? B : A));
    const r = new Ring(big);
    const last = (MAX_ENTRIES - 2) * 16; // owned by A (even index), up to 2^32
    expectRingError(() => r.transfer(A, C, last + 1, last + 2), 'TooManyTokens');
    r.transfer(A, C, last + 1, SPACE); // one new token: exactly at the limit
    expect(r.entries().length).toBe(MAX_ENTRIES);
  });
  test('a token at the highest version cannot change hands', () => {
    const r = new Ring([e(0, A, MAX_VERSION)]);
    expectRingError(() => r.transfer(A, B, 0, 10), 'VersionExhausted');
    expect(tuples(r)).toEqual([[0, A, MAX_VERSION]]);
  });
});

describe('reclaim', () => {
  test('every token of the dead peer moves, version bumped', () => {
    const r = claimed();
    r.transfer(A, B, 100, 200);
    r.transfer(A, B, 300, 400);
    r.transfer(B, C, 300, 350);
    expect(r.reclaim(B, D)).toBe(2);
    expect(tuples(r)).toEqual([[0, A, 1], [100, D, 2], [200, A, 1], [300, C, 2], [350, D, 2], [400, A, 1]]);
    expect(r.peers()).toEqual([A, C, D].sort());
    expect(r.reclaim(B, D)).toBe(0);
  });
  test('wins over the dead peer\'s last ring when merged either way', () => {
    const dead = claimed();
    dead.transfer(A, B, 0, 1 << 20);
    const survivor = dead.clone();
    survivor.reclaim(B, C);
    expect(survivor.merge(dead.entries())).toEqual({ ok: true, changed: false });
    expect(dead.merge(survivor.entries())).toEqual({ ok: true, changed: true });
    expect(dead.equals(survivor)).toBe(true);
  });
  test('refuses bad peers', () => {
    const r = claimed();
    expectRingError(() => r.reclaim(A, A), 'BadPeer');
    expectRingError(() => r.reclaim(A, 'zz'), 'BadPeer');
  });
});

describe('queries', () => {
  const r = claimed();
  r.transfer(A, B, 0x0a000000, 0x0a000100); // 10.0.0.0/24
  r.transfer(A, C, 0x0a000100, 0x0a000180); // 10.0.1.0/25
  r.transfer(C, A, 0x0a000100, 0x0a000110); // back to A: A's ranges join around it

  test('rangesOf joins adjacent tokens and clips to a CIDR', () => {
    expect(r.rangesOf(B)).toEqual([{ start: 0x0a000000, end: 0x0a000100 }]);
    expect(r.rangesOf(A)).toEqual([{ start: 0, end: 0x0a000000 }, { start: 0x0a000100, end: 0x0a000110 }, { start: 0x0a000180, end: SPACE }]);
    expect(r.rangesOf(A, parseCidr('10.0.1.0/24'))).toEqual([{ start: 0x0a000100, end: 0x0a000110 }, { start: 0x0a000180, end: 0x0a000200 }]);
    expect(r.rangesOf(B, parseCidr('10.0.1.0/24'))).toEqual([]);
    expect(r.rangesOf(D)).toEqual([]);
    expect(r.rangesOf(C, parseCidr('10.0.1.64/32'))).toEqual([{ start: 0x0a000140, end: 0x0a000141 }]);
  });
  test('ownedIn counts addresses per peer and sums to the CIDR size', () => {
    expect(r.ownedIn(parseCidr('10.0.0.0/23'))).toEqual(new Map([[B, 256], [A, 16 + 128], [C, 112]]));
    expect(r.ownedIn(parseCidr('0.0.0.0/0'))).toEqual(new Map([[A, SPACE - 256 - 112], [B, 256], [C, 112]]));
    expect(r.ownedIn(parseCidr('10.0.0.7/32'))).toEqual(new Map([[B, 1]]));
    expect(new Ring().ownedIn(parseCidr('10.0.0.0/8'))).toEqual(new Map());
  });
  test('peers, entries are copies, clone is independent, equals', () => {
    expect(r.peers()).toEqual([A, B, C].sort());
    const copy = r.clone();
    expect(copy.equals(r)).toBe(true);
    copy.transfer(A, D, 0, 1);
    expect(copy.equals(r)).toBe(false);
    expect(r.owner(0)).toBe(A);
    const list = r.entries() as RingEntry[];
    list.pop();
    expect(r.entries().length).toBe(list.length + 1);
    expect(Object.isFrozen(r.entries()[0])).toBe(true);
  });
  test('the constructor refuses malformed entries', () => {
    expectRingError(() => new Ring([e(5, A)]), 'Invalid');
    expect(new Ring([e(0, A), e(9, B, 3)]).owner(9)).toBe(B);
  });
});
