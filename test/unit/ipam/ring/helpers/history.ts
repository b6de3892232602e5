/**
 * Random histories of a small network: one peer claims the whole space, then
 * peers hand ranges to each other (only from what their own ring says they
 * own) and gossip whole rings. Every transfer is also applied to an
 * independent model, the truth the properties are checked against.
 */
import { Ring, SPACE, type Range } from '../../../../../src/ipam/ring';
import { OwnershipModel } from './model';
import { peer, rng, type Rng } from './random';

export interface History {
  readonly ids: string[];
  /** each peer's ring at the end */
  readonly finals: Ring[];
  /** copies of rings taken at random moments (finals included) */
  readonly snapshots: Ring[];
  readonly truth: OwnershipModel;
  /** safety violations seen along the way (should stay empty) */
  readonly violations: string[];
  readonly transfers: number;
}

/** A point in [lo, hi], biased towards the ends and aligned addresses so tokens collide. */
function point(r: Rng, lo: number, hi: number): number {
  const u = r();
  if (u < 0.15) return lo;
  if (u < 0.3) return hi;
  if (u < 0.8) {
    const b = 2 ** r.between(0, 32);
    const m0 = Math.ceil(lo / b);
    const m1 = Math.floor(hi / b);
    if (m0 <= m1) return r.between(m0, m1) * b;
  }
  return r.between(lo, hi);
}

function subRange(r: Rng, within: Range): Range | undefined {
  const a = point(r, within.start, within.end);
  const b = point(r, within.start, within.end);
  if (a === b) return undefined;
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

/** Does each peer's own view of its space lie inside what the truth gives it? */
export function checkViews(rings: readonly Ring[], ids: readonly string[], truth: OwnershipModel): string[] {
  const bad: string[] = [];
  rings.forEach((ring, i) => {
    const id = ids[i] as string;
    for (const r of ring.rangesOf(id)) {
      if (!truth.ownsAll(id, r.start, r.end)) bad.push(`${id} believes it owns [${r.start}, ${r.end}) but does not`);
    }
  });
  return bad;
}

export function generateHistory(seed: number, peers = 4, steps = 60): History {
  const r = rng(seed);
  const ids = Array.from({ length: peers }, (_, i) => peer(i));
  const rings = ids.map(() => new Ring());
  const truth = new OwnershipModel();
  const snapshots: Ring[] = [];
  const violations: string[] = [];
  (rings[0] as Ring).claimAll(ids[0] as string);
  truth.claimAll(ids[0] as string);
  let transfers = 0;
  for (let step = 0; step < steps; step++) {
    const u = r();
    if (u < 0.45) {
      const p = r.int(peers);
      const own = (rings[p] as Ring).rangesOf(ids[p] as string);
      if (own.length === 0) continue;
      const range = subRange(r, r.pick(own));
      if (range === undefined) continue;
      const q = (p + 1 + r.int(peers - 1)) % peers;
      (rings[p] as Ring).transfer(ids[p] as string, ids[q] as string, range.start, range.end);
      truth.set(range.start, range.end, ids[q] as string);
      transfers++;
      // the receiver usually hears at once (the donation reply), sometimes only later by gossip
      if (r() < 0.6) expectOk((rings[q] as Ring).merge((rings[p] as Ring).entries()), violations);
    } else if (u < 0.88) {
      const a = r.int(peers);
      const b = r.int(peers);
      expectOk((rings[a] as Ring).merge((rings[b] as Ring).entries()), violations);
    } else {
      snapshots.push((rings[r.int(peers)] as Ring).clone());
    }
    violations.push(...checkViews(rings, ids, truth));
  }
  snapshots.push(...rings.map((x) => x.clone()));
  return { ids, finals: rings, snapshots, truth, violations, transfers };
}

function expectOk(res: ReturnType<Ring['merge']>, violations: string[]): void {
  if (!res.ok) violations.push(`merge failed: ${JSON.stringify(res)}`);
}

export function merged(...rings: Ring[]): Ring {
  const out = new Ring();
  for (const x of rings) {
    const res = out.merge(x.entries());
    if (!res.ok) throw new Error(`merge failed: ${JSON.stringify(res)}`);
  }
  return out;
}

/** Every point where the ring's or the model's ownership may change, plus the ends. */
export function checkPoints(ring: Ring, truth: OwnershipModel): number[] {
  const pts = new Set<number>([0, SPACE - 1, ...truth.boundaries(), ...ring.entries().map((e) => e.token)]);
  for (const p of [...pts]) if (p > 0) pts.add(p - 1);
  return [...pts].sort((a, b) => a - b);
}
