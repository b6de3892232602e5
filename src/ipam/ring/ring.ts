/**
 * The address-ownership CRDT. State is a sorted list of tokens; each owns up
 * to the next token. Local changes follow the single-writer rule (only the
 * owner of a range changes tokens inside it, and tokens are never deleted),
 * which is what makes merging by per-token version safe. Pure: no I/O, no clock.
 */
import { isPeerId } from '../../mesh/peerId';
import type { Cidr } from '../../addr/cidr';
import { mergeEntries } from './merge';
import { indexOwning, ownedIn, rangesOf } from './queries';
import { validateEntries } from './validate';
import { MAX_ENTRIES, MAX_VERSION, RingError, SPACE, type MergeResult, type PeerId, type Range, type RingEntry } from './types';

function entry(token: number, owner: PeerId, version: number): RingEntry {
  return Object.freeze({ token, owner, version });
}

function bumped(e: RingEntry, owner: PeerId): RingEntry {
  if (e.version >= MAX_VERSION) throw new RingError('VersionExhausted', `token ${e.token} is at the highest version`);
  return entry(e.token, owner, e.version + 1);
}

function checkPeer(p: unknown, what: string): asserts p is PeerId {
  if (!isPeerId(p)) throw new RingError('BadPeer', `${what} is not a peer id: ${JSON.stringify(p)}`);
}

export class Ring {
  private list: readonly RingEntry[];

  /** Throws RingError('Invalid') for malformed entries (use merge() for untrusted input). */
  constructor(entries: readonly RingEntry[] = []) {
    const problem = validateEntries(entries);
    if (problem !== undefined) throw new RingError('Invalid', problem);
    this.list = entries.map((e) => entry(e.token, e.owner, e.version));
  }

  /**
   * First peer of a new network takes the whole space. Two peers doing so
   * independently conflict on merge, but only while both still have token 0
   * at version 1: once either has moved it on, the other's claim loses silently.
   */
  claimAll(owner: PeerId): void {
    checkPeer(owner, 'owner');
    if (this.list.length > 0) throw new RingError('NotEmpty', 'the ring already has owners');
    this.list = [entry(0, owner, 1)];
  }

  /**
   * Hands [start, end) from `from` to `to`. `from` must own all of it here;
   * on any error the ring is unchanged.
   */
  transfer(from: PeerId, to: PeerId, start: number, end: number): void {
    checkPeer(from, 'from');
    checkPeer(to, 'to');
    if (from === to) throw new RingError('BadPeer', 'transfer to the same peer');
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= SPACE)) {
      throw new RingError('BadRange', `bad range [${start}, ${end})`);
    }
    const list = this.list;
    const i0 = indexOwning(list, start);
    if (i0 < 0) throw new RingError('NotOwner', `${from} owns nothing (empty ring)`);
    let iEnd = i0; // first index with token ≥ end
    for (; iEnd < list.length && (list[iEnd] as RingEntry).token < end; iEnd++) {
      const e = list[iEnd] as RingEntry;
      if (e.owner !== from) {
        throw new RingError('NotOwner', `${from} does not own ${Math.max(e.token, start)} (owned by ${e.owner})`);
      }
    }
    const needStart = (list[i0] as RingEntry).token !== start;
    // without a token at `end`, the address `end` belongs to the entry just checked, i.e. to `from`
    const needEnd = end < SPACE && list[iEnd]?.token !== end;
    if (list.length + Number(needStart) + Number(needEnd) > MAX_ENTRIES) {
      throw new RingError('TooManyTokens', `the ring would pass ${MAX_ENTRIES} tokens`);
    }
    const out: RingEntry[] = list.slice(0, needStart ? i0 + 1 : i0);
    if (needStart) out.push(entry(start, to, 1));
    for (let i = needStart ? i0 + 1 : i0; i < iEnd; i++) out.push(bumped(list[i] as RingEntry, to));
    if (needEnd) out.push(entry(end, from, 1));
    for (let i = iEnd; i < list.length; i++) out.push(list[i] as RingEntry);
    this.list = out;
  }

  /**
   * Gives every token `dead` owns to `to` (`weft rmpeer`). This is the one
   * write that breaks the single-writer rule: it is safe only if `dead` never
   * runs again with its old state and only one peer reclaims it. Returns how
   * many tokens changed.
   */
  reclaim(dead: PeerId, to: PeerId): number {
    checkPeer(dead, 'dead');
    checkPeer(to, 'to');
    if (dead === to) throw new RingError('BadPeer', 'reclaim to the same peer');
    let n = 0;
    const out = this.list.map((e) => {
      if (e.owner !== dead) return e;
      n++;
      return bumped(e, to);
    });
    this.list = out;
    return n;
  }

  /** Merges a whole ring received from a peer; on failure nothing changes. */
  merge(incoming: readonly RingEntry[]): MergeResult {
    const problem = validateEntries(incoming);
    if (problem !== undefined) return { ok: false, reason: 'invalid', detail: problem };
    const theirs = incoming.map((e) => entry(e.token, e.owner, e.version));
    const r = mergeEntries(this.list, theirs);
    if (!r.ok) return r;
    if (r.changed) this.list = r.entries;
    return { ok: true, changed: r.changed };
  }

  owner(ip: number): PeerId | undefined {
    if (!(Number.isInteger(ip) && ip >= 0 && ip < SPACE)) return undefined;
    const i = indexOwning(this.list, ip);
    return i < 0 ? undefined : (this.list[i] as RingEntry).owner;
  }

  rangesOf(peer: PeerId, within?: Cidr): Range[] {
    return rangesOf(this.list, peer, within);
  }

  ownedIn(within: Cidr): Map<PeerId, number> {
    return ownedIn(this.list, within);
  }

  /** Distinct owners, sorted. */
  peers(): PeerId[] {
    return [...new Set(this.list.map((e) => e.owner))].sort();
  }

  entries(): readonly RingEntry[] {
    return this.list.slice();
  }

  isEmpty(): boolean {
    return this.list.length === 0;
  }

  equals(other: Ring): boolean {
    const a = this.list;
    const b = other.list;
    if (a.length !== b.length) return false;
    return a.every((e, i) => {
      const f = b[i] as RingEntry;
      return e.token === f.token && e.owner === f.owner && e.version === f.version;
    });
  }

  clone(): Ring {
    const r = new Ring();
    r.list = this.list; // entries are frozen and the list is replaced, never mutated
    return r;
  }
}
