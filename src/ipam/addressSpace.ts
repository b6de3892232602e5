/**
 * Which addresses of one contiguous range [lo, hi] are taken. Pure.
 *
 * A bitmap keeps a /12 (1 Mi addresses) in 128 KiB. Allocation is next-fit
 * from a cursor that only moves forward and wraps: an address given back is
 * handed out again only after the rest of the range has been used, so a
 * container that just left does not have its address taken over at once
 * (stale ARP entries elsewhere would misdeliver).
 */
export class AddressSpace {
  private readonly words: Uint32Array;
  private used = 0;
  /** offset (from lo) where the next search starts */
  private cursor = 0;

  constructor(readonly lo: number, readonly hi: number) {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) throw new RangeError(`bad range ${lo}..${hi}`);
    this.words = new Uint32Array(Math.ceil(this.capacity / 32));
  }

  get capacity(): number {
    return this.hi - this.lo + 1;
  }

  get count(): number {
    return this.used;
  }

  get free(): number {
    return this.capacity - this.used;
  }

  get nextOffset(): number {
    return this.cursor;
  }

  /** restores the cursor saved with the allocations */
  setNextOffset(offset: number): void {
    this.cursor = Number.isInteger(offset) && offset >= 0 && offset < this.capacity ? offset : 0;
  }

  has(ip: number): boolean {
    return ip >= this.lo && ip <= this.hi;
  }

  isTaken(ip: number): boolean {
    if (!this.has(ip)) return false;
    const off = ip - this.lo;
    return (this.words[off >>> 5] & (1 << (off & 31))) !== 0;
  }

  /** marks ip taken; false when it already was (or lies outside) */
  claim(ip: number): boolean {
    if (!this.has(ip) || this.isTaken(ip)) return false;
    const off = ip - this.lo;
    this.words[off >>> 5] |= 1 << (off & 31);
    this.used++;
    return true;
  }

  /** false when it was not taken */
  release(ip: number): boolean {
    if (!this.isTaken(ip)) return false;
    const off = ip - this.lo;
    this.words[off >>> 5] &= ~(1 << (off & 31));
    this.used--;
    return true;
  }

  /**
   * Takes the next free address at or after the cursor, wrapping, or undefined when
   * none is free. `window` narrows the search to [from, to] (e.g. Docker's --ip-range)
   * while addresses outside it stay claimable by name.
   */
  allocate(window?: { from: number; to: number }): number | undefined {
    if (this.used >= this.capacity) return undefined;
    const lo = window ? Math.max(window.from, this.lo) - this.lo : 0;
    const end = window ? Math.min(window.to, this.hi) - this.lo + 1 : this.capacity;
    if (lo >= end) return undefined;
    const start = this.cursor >= lo && this.cursor < end ? this.cursor : lo;
    const off = this.findFree(start, end) ?? this.findFree(lo, start);
    if (off === undefined) return undefined;
    const ip = this.lo + off;
    this.claim(ip);
    this.cursor = off + 1 >= this.capacity ? 0 : off + 1;
    return ip;
  }

  /** first free offset in [from, to), skipping full 32-bit words */
  private findFree(from: number, to: number): number | undefined {
    let off = from;
    while (off < to) {
      const w = this.words[off >>> 5];
      if (w === 0xffffffff && (off & 31) === 0) {
        off += 32;
        continue;
      }
      if ((w & (1 << (off & 31))) === 0) return off;
      off++;
    }
    return undefined;
  }
}
