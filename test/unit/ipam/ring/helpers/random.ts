/** Seeded PRNG for repeatable property tests (xorshift32; no libraries). */
export interface Rng {
  /** uniform in [0, 1) */
  (): number;
  /** integer in [0, n) */
  int(n: number): number;
  /** integer in [lo, hi] (hi ≤ 2^32 is fine) */
  between(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function rng(seed: number): Rng {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  const r = next as Rng;
  // two draws so that ranges up to 2^32 + 1 values stay uniform enough and exact
  r.int = (n) => Math.floor((next() + next() / 2 ** 32) * n);
  r.between = (lo, hi) => lo + r.int(hi - lo + 1);
  r.pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)] as T;
  return r;
}

/** A well-formed peer id for small integers. */
export function peer(i: number): string {
  return (0xa000 + i).toString(16).padStart(16, '0');
}
