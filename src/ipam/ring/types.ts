/**
 * The ring: which peer owns which addresses of the whole IPv4 space. Shared
 * types, limits and the typed error. Pure.
 */
import type { PeerId } from '../../mesh/peerId';

export type { PeerId };

/** One token: `owner` owns [token, next token); the last one owns up to 2^32. */
export interface RingEntry {
  readonly token: number;
  readonly owner: PeerId;
  /** positive integer; bumped by every change of this token's owner */
  readonly version: number;
}

/** Half-open address range [start, end); end may be 2^32. */
export interface Range {
  readonly start: number;
  readonly end: number;
}

export const SPACE = 2 ** 32;
/** Versions travel as u32. */
export const MAX_VERSION = 0xffffffff;
/**
 * Rings larger than this are refused on the wire, so a local change that
 * would grow past it is refused too (peers would otherwise reject our ring).
 */
export const MAX_ENTRIES = 100_000;

export type MergeResult =
  | { readonly ok: true; readonly changed: boolean }
  | {
      readonly ok: false;
      readonly reason: 'conflict';
      readonly token: number;
      readonly ours: RingEntry;
      readonly theirs: RingEntry;
    }
  | { readonly ok: false; readonly reason: 'invalid'; readonly detail: string };

export type RingErrorCode =
  | 'NotEmpty' // claimAll on a ring that already has owners
  | 'NotOwner' // transfer of addresses `from` does not own
  | 'BadRange' // start/end not integers with 0 ≤ start < end ≤ 2^32
  | 'BadPeer' // malformed peer id, or from === to
  | 'TooManyTokens' // the change would push the ring past MAX_ENTRIES
  | 'VersionExhausted' // a token's version would pass MAX_VERSION
  | 'Invalid'; // entries given to a constructor or encoder are malformed

export class RingError extends Error {
  override readonly name = 'RingError';
  constructor(readonly code: RingErrorCode, message: string) {
    super(message);
  }
}
