/**
 * Merging two rings, token by token: the higher version wins, a token only one
 * side has is taken. Pure; inputs must already be valid and sorted.
 *
 * Whole rings are always merged, never single entries: a peer that gained a
 * range thereby also learns every token inside it, which is what lets the
 * current owner alone change that range (the single-writer rule).
 */
import { MAX_ENTRIES, type RingEntry } from './types';

export type MergeOutcome =
  | { readonly ok: true; readonly entries: RingEntry[]; readonly changed: boolean }
  | { readonly ok: false; readonly reason: 'conflict'; readonly token: number; readonly ours: RingEntry; readonly theirs: RingEntry }
  | { readonly ok: false; readonly reason: 'invalid'; readonly detail: string };

export function mergeEntries(ours: readonly RingEntry[], theirs: readonly RingEntry[]): MergeOutcome {
  const out: RingEntry[] = [];
  let changed = false;
  let i = 0;
  let j = 0;
  while (i < ours.length || j < theirs.length) {
    const a = ours[i];
    const b = theirs[j];
    if (b === undefined || (a !== undefined && a.token < b.token)) {
      out.push(a as RingEntry);
      i++;
    } else if (a === undefined || b.token < a.token) {
      out.push(b);
      changed = true;
      j++;
    } else {
      if (a.version === b.version && a.owner !== b.owner) {
        // two writers at the same version: independent claims or a corrupt peer; neither can be trusted
        return { ok: false, reason: 'conflict', token: a.token, ours: a, theirs: b };
      }
      if (b.version > a.version) {
        out.push(b);
        changed = true;
      } else {
        out.push(a);
      }
      i++;
      j++;
    }
  }
  if (out.length > MAX_ENTRIES) return { ok: false, reason: 'invalid', detail: `merged ring would have ${out.length} entries (limit ${MAX_ENTRIES})` };
  return { ok: true, entries: out, changed };
}
