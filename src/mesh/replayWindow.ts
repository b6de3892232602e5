/**
 * Replay protection for sealed frames, as in IPsec (RFC 4303 §3.4.3): per
 * sender boot (sender id, nonce epoch) a sliding window over the nonce counter.
 * The highest counter seen is accepted; anything up to WINDOW-1 below it is
 * accepted once; duplicates and anything older are refused.
 *
 * Callers check before decrypting (cheap refusal of replays) and mark only
 * after the frame authenticated, so a forger cannot move a window.
 */

export const WINDOW = 1024;
const WORDS = WINDOW / 32;

export class ReplayWindow {
  /** highest counter accepted so far; -1 before the first */
  private top = -1;
  /** bit (c mod WINDOW) is set when counter c, within the window, was accepted */
  private readonly bits = new Uint32Array(WORDS);

  /** would counter c be accepted (it is new and not too old)? */
  check(c: number): boolean {
    if (c > this.top) return true;
    if (this.top - c >= WINDOW) return false;
    const i = c % WINDOW;
    return (this.bits[i >>> 5] & (1 << (i & 31))) === 0;
  }

  /** records c as seen; call only after check(c) and authentication */
  mark(c: number): void {
    if (c > this.top) {
      const gap = c - this.top;
      if (gap >= WINDOW || this.top < 0) {
        this.bits.fill(0);
      } else {
        // slots for counters top+1 .. c-1 still hold bits from a lap ago
        for (let k = this.top + 1; k < c; k++) {
          const i = k % WINDOW;
          this.bits[i >>> 5] &= ~(1 << (i & 31));
        }
      }
      this.top = c;
    }
    const i = c % WINDOW;
    this.bits[i >>> 5] |= 1 << (i & 31);
  }

  get highest(): number {
    return this.top;
  }
}

/**
 * Windows keyed by sender boot, least recently used evicted past a bound, so
 * memory stays bounded whatever the peers do. Entries are only created for
 * authenticated frames, so only holders of the key can cause evictions; an
 * evicted boot's old frames would be accepted again, which is why the bound is
 * far above any real mesh size.
 */
/** one sender boot's window, and what its caller keeps with it */
export interface Tracked<S> {
  readonly window: ReplayWindow;
  readonly session: S;
}

export class ReplayTable<S> {
  private readonly windows = new Map<string, Tracked<S>>();

  constructor(readonly maxTracked = 4096) {
    if (!(maxTracked >= 1)) throw new RangeError('maxTracked must be at least 1');
  }

  get size(): number {
    return this.windows.size;
  }

  /** the window for key and what was kept with it, without touching recency; or undefined */
  peek(key: string): Tracked<S> | undefined {
    return this.windows.get(key);
  }

  /**
   * marks counter c for key, creating the window (kept with session: what the caller needs per sender
   * boot) and evicting the oldest as needed; an existing window keeps the session it was made with
   */
  mark(key: string, c: number, session: S): void {
    let e = this.windows.get(key);
    if (e) {
      // Map keeps insertion order: re-inserting moves the key to the young end
      this.windows.delete(key);
    } else {
      e = { window: new ReplayWindow(), session };
      if (this.windows.size >= this.maxTracked) this.windows.delete(this.windows.keys().next().value!);
    }
    this.windows.set(key, e);
    e.window.mark(c);
  }
}
