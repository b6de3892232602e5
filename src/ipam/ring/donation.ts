/**
 * Which part of its own space a peer gives to a peer that asks. Pure: the
 * caller says what it owns and what is free; nothing here touches the ring.
 *
 * Finding the largest free run needs the free space as runs, not address by
 * address: owned ranges can hold millions of addresses. So 'half' takes an
 * optional `freeRuns` (the allocator knows its allocations and can list the
 * gaps in O(allocations); see freeRunsFromSorted). Without it, runs are found
 * by asking `isFree` of every owned address inside `within`, which is fine
 * for small pools and tests only. 'address' needs `isFree` alone (≤ 31 calls).
 */
import { cidrOf, contains, first, size, type Cidr } from '../../addr/cidr';
import type { Range } from './types';

export type DonationWant = { readonly kind: 'half' } | { readonly kind: 'address'; readonly ip: number };
export type FreeRuns = (start: number, end: number) => Iterable<Range>;

/** Largest block handed out for a wanted address: a /28. */
const ADDRESS_BLOCK_PREFIX = 28;

export function chooseDonation(
  ownedRanges: readonly Range[],
  isFree: (ip: number) => boolean,
  within: Cidr,
  want: DonationWant,
  freeRuns?: FreeRuns,
): Range | undefined {
  const owned = clipAndJoin(ownedRanges, within);
  if (want.kind === 'address') return forAddress(owned, isFree, within, want.ip);
  const best = largestFreeRun(owned, freeRuns ?? scanFreeRuns(isFree));
  return best === undefined ? undefined : upperHalf(best);
}

/** Owned ranges inside `within`, sorted, overlapping or touching ones joined. */
function clipAndJoin(ranges: readonly Range[], within: Cidr): Range[] {
  const lo = first(within);
  const hi = lo + size(within);
  const clipped = ranges
    .map((r) => ({ start: Math.max(r.start, lo), end: Math.min(r.end, hi) }))
    .filter((r) => r.start < r.end)
    .sort((a, b) => a.start - b.start);
  const out: Array<{ start: number; end: number }> = [];
  for (const r of clipped) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

function largestFreeRun(owned: readonly Range[], runs: FreeRuns): Range | undefined {
  let best: Range | undefined;
  let bestSize = 0;
  const bySize = [...owned].sort((a, b) => b.end - b.start - (a.end - a.start));
  for (const r of bySize) {
    if (r.end - r.start <= bestSize) break; // no run in a smaller range can beat it
    for (const run of runs(r.start, r.end)) {
      const start = Math.max(run.start, r.start); // do not trust the callback to stay inside
      const end = Math.min(run.end, r.end);
      if (end - start > bestSize) {
        best = { start, end };
        bestSize = end - start;
      }
    }
  }
  return best;
}

/**
 * The run cut at its best-aligned address near the middle (the one with the
 * most trailing zero bits, keeping at least a quarter on each side), upper
 * piece given away: a whole aligned block gives its upper half, and the donor
 * keeps the low addresses, where its allocator starts.
 */
export function upperHalf(run: Range): Range {
  const n = run.end - run.start;
  if (n <= 1) return run;
  const quarter = Math.floor(n / 4);
  const lo = Math.max(run.start + quarter, run.start + 1);
  const hi = Math.min(run.end - quarter, run.end - 1);
  for (let k = 31; k >= 0; k--) {
    const b = 2 ** k;
    const c = Math.ceil(lo / b) * b;
    if (c <= hi) return { start: c, end: run.end };
  }
  return { start: lo, end: run.end }; // unreachable: k = 0 always fits
}

function forAddress(owned: readonly Range[], isFree: (ip: number) => boolean, within: Cidr, ip: number): Range | undefined {
  if (!Number.isInteger(ip) || !contains(within, ip)) return undefined;
  const r = owned.find((o) => o.start <= ip && ip < o.end);
  if (r === undefined) return undefined;
  for (let p = Math.max(ADDRESS_BLOCK_PREFIX, within.prefix); p <= 32; p++) {
    const block = cidrOf(ip, p);
    const start = block.base;
    const end = start + size(block);
    if (start >= r.start && end <= r.end && allFree(isFree, start, end)) return { start, end };
  }
  return undefined;
}

function allFree(isFree: (ip: number) => boolean, start: number, end: number): boolean {
  for (let ip = start; ip < end; ip++) if (!isFree(ip)) return false;
  return true;
}

/** Free runs by asking isFree of each address: O(end − start). */
export function scanFreeRuns(isFree: (ip: number) => boolean): FreeRuns {
  return function* (start, end) {
    let runStart = -1;
    for (let ip = start; ip < end; ip++) {
      if (isFree(ip)) {
        if (runStart < 0) runStart = ip;
      } else if (runStart >= 0) {
        yield { start: runStart, end: ip };
        runStart = -1;
      }
    }
    if (runStart >= 0) yield { start: runStart, end };
  };
}

/** Free runs from a sorted list of allocated addresses: O(log n + allocations in the range). */
export function freeRunsFromSorted(allocated: readonly number[]): FreeRuns {
  return function* (start, end) {
    let lo = 0;
    let hi = allocated.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((allocated[mid] as number) < start) lo = mid + 1;
      else hi = mid;
    }
    let cursor = start;
    for (let i = lo; i < allocated.length && (allocated[i] as number) < end; i++) {
      const a = allocated[i] as number;
      if (a > cursor) yield { start: cursor, end: a };
      cursor = Math.max(cursor, a + 1);
    }
    if (cursor < end) yield { start: cursor, end };
  };
}
