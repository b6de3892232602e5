/** Read-only questions over a sorted, valid list of ring entries. Pure. */
import { first, size, type Cidr } from '../../addr/cidr';
import { SPACE, type PeerId, type Range, type RingEntry } from './types';

/** Index of the entry owning `ip` (the last token ≤ ip), or -1 for an empty ring. */
export function indexOwning(entries: readonly RingEntry[], ip: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as RingEntry).token <= ip) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Exclusive end of entry i's range. */
export function endOf(entries: readonly RingEntry[], i: number): number {
  const next = entries[i + 1];
  return next === undefined ? SPACE : next.token;
}

/** Calls `visit` with each entry's range clipped to [lo, hi), in address order. */
function eachRange(
  entries: readonly RingEntry[],
  lo: number,
  hi: number,
  visit: (owner: PeerId, start: number, end: number) => void,
): void {
  for (let i = Math.max(0, indexOwning(entries, lo)); i < entries.length; i++) {
    const e = entries[i] as RingEntry;
    if (e.token >= hi) break;
    const start = Math.max(e.token, lo);
    const end = Math.min(endOf(entries, i), hi);
    if (start < end) visit(e.owner, start, end);
  }
}

/** `peer`'s ranges (inside `within` if given), adjacent ones joined. */
export function rangesOf(entries: readonly RingEntry[], peer: PeerId, within?: Cidr): Range[] {
  const lo = within ? first(within) : 0;
  const hi = within ? first(within) + size(within) : SPACE;
  const out: Array<{ start: number; end: number }> = [];
  eachRange(entries, lo, hi, (owner, start, end) => {
    if (owner !== peer) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.end === start) last.end = end;
    else out.push({ start, end });
  });
  return out;
}

/** How many addresses of `within` each peer owns (peers owning none are absent). */
export function ownedIn(entries: readonly RingEntry[], within: Cidr): Map<PeerId, number> {
  const counts = new Map<PeerId, number>();
  eachRange(entries, first(within), first(within) + size(within), (owner, start, end) => {
    counts.set(owner, (counts.get(owner) ?? 0) + (end - start));
  });
  return counts;
}
