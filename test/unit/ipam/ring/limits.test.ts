/**
 * Known limits of the model, pinned down as executable facts so that a change
 * in behaviour is noticed. These are hazards for the layers above (launch,
 * rmpeer, the store), not behaviour anyone should rely on.
 */
import { Ring } from '../../../../src/ipam/ring';
import { peer } from './helpers/random';

const [A, B, C, R] = [peer(0), peer(1), peer(2), peer(9)];
const HALF = 2 ** 31;

function claimed(owner: string): Ring {
  const r = new Ring();
  r.claimAll(owner);
  return r;
}

describe('known limits (documented, not desired)', () => {
  test('independent claims go unnoticed once one side has moved token 0 on', () => {
    const a = claimed(A);
    a.transfer(A, C, 0, HALF); // token 0 now at version 2
    const b = claimed(B); // started alone, may already have handed out addresses
    expect(b.merge(a.entries())).toEqual({ ok: true, changed: true });
    expect(b.rangesOf(B)).toEqual([]); // B silently lost the space it was allocating from
  });

  test('reclaiming a peer that is only cut off gives its space two believing owners', () => {
    const ring = claimed(A);
    ring.transfer(A, B, 0, HALF);
    const atB = ring.clone(); // B, partitioned, keeps allocating from [0, 2^31)
    const atR = ring.clone();
    atR.reclaim(B, R); // rmpeer B, run on R
    expect(atB.owner(5)).toBe(B);
    expect(atR.owner(5)).toBe(R);
  });

  test('two peers reclaiming the same dead peer to different heirs conflict for good', () => {
    const ring = claimed(A);
    ring.transfer(A, B, 0, HALF);
    const x = ring.clone();
    const y = ring.clone();
    x.reclaim(B, A);
    y.reclaim(B, C);
    expect(x.merge(y.entries())).toMatchObject({ ok: false, reason: 'conflict', token: 0 });
  });

  test('a peer restarted from a ring saved before its last transfer believes it owns what it gave away', () => {
    const saved = claimed(A);
    const live = saved.clone();
    live.transfer(A, B, 0, HALF); // gossiped to B, then A crashes before saving
    expect(saved.owner(5)).toBe(A);
    expect(live.owner(5)).toBe(B);
  });

  test('merging a delta instead of a whole ring is accepted and wrong (gossip must pass on whole rings)', () => {
    const a = claimed(A);
    const c = a.clone(); // C heard the claim, then was cut off
    a.transfer(A, B, 100, 200);
    a.transfer(B, A, 100, 200); // tokens 100 and 200 now exist; 200 bounds what follows
    a.transfer(A, C, 0, 100); // only token 0 changes: the "news" is that one entry
    const news = a.entries().filter((e) => e.token === 0);
    expect(c.merge(news)).toEqual({ ok: true, changed: true });
    expect(c.owner(150)).toBe(C); // C now believes it owns everything; A still owns [100, 2^32)
    expect(a.owner(150)).toBe(A);
  });
});
