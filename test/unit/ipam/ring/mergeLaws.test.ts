/** Property tests over random histories: the merge is a join, and merging never breaks the single-writer rule. */
import { Ring, validateEntries } from '../../../../src/ipam/ring';
import { checkPoints, checkViews, generateHistory, merged } from './helpers/history';
import { rng } from './helpers/random';

const SEEDS = Array.from({ length: 40 }, (_, i) => 1000 + i * 7919);

function join(a: Ring, b: Ring): Ring {
  const out = a.clone();
  const res = out.merge(b.entries());
  if (!res.ok) throw new Error(`unexpected ${JSON.stringify(res)}`);
  return out;
}

describe.each(SEEDS)('history seed %i', (seed) => {
  const h = generateHistory(seed, 2 + (seed % 4), 80);
  const r = rng(seed ^ 0x5eed);
  const pick = (): Ring => r.pick(h.snapshots);

  test('the history did something and stayed safe', () => {
    expect(h.transfers).toBeGreaterThan(0);
    expect(h.violations).toEqual([]);
    for (const s of h.snapshots) expect(validateEntries(s.entries())).toBeUndefined();
  });

  test('commutative, associative, idempotent', () => {
    for (let i = 0; i < 30; i++) {
      const [a, b, c] = [pick(), pick(), pick()];
      expect(join(a, b).equals(join(b, a))).toBe(true);
      expect(join(join(a, b), c).equals(join(a, join(b, c)))).toBe(true);
      const self = a.clone();
      expect(self.merge(a.entries())).toEqual({ ok: true, changed: false });
      expect(self.equals(a)).toBe(true);
    }
  });

  test('monotone, and changed means exactly that something was learnt', () => {
    for (let i = 0; i < 30; i++) {
      const [a, b] = [pick(), pick()];
      const out = a.clone();
      const res = out.merge(b.entries());
      expect(res).toEqual({ ok: true, changed: !out.equals(a) });
      const after = new Map(out.entries().map((e) => [e.token, e.version]));
      for (const e of [...a.entries(), ...b.entries()]) expect(after.get(e.token)).toBeGreaterThanOrEqual(e.version);
      // merging what we already merged is no news
      expect(out.merge(b.entries())).toEqual({ ok: true, changed: false });
    }
  });

  test('merging every state gives exactly the ownership the transfers produced', () => {
    const all = merged(...[...h.snapshots].sort(() => r() - 0.5));
    for (const ip of checkPoints(all, h.truth)) expect([ip, all.owner(ip)]).toEqual([ip, h.truth.ownerAt(ip)]);
    // and it is the same whatever the order
    expect(merged(...[...h.snapshots].reverse()).equals(all)).toBe(true);
  });

  test('a peer merging any old states never comes to believe it owns what it does not', () => {
    for (let i = 0; i < 20; i++) {
      const views = h.finals.map((f) => {
        const v = f.clone();
        for (let k = r.int(4); k > 0; k--) expect(v.merge(pick().entries()).ok).toBe(true);
        return v;
      });
      expect(checkViews(views, h.ids, h.truth)).toEqual([]);
    }
  });

  test('no two peers ever believe they own the same address', () => {
    // the final views, pairwise: each peer's own ranges are disjoint from every other peer's own ranges
    const spans = h.finals.flatMap((f, i) => f.rangesOf(h.ids[i] as string).map((s) => ({ ...s, who: i })));
    spans.sort((x, y) => x.start - y.start);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
  });
});
