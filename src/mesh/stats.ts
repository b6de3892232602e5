/**
 * Counts of things dropped, by reason, so that a malformed, oversized or
 * unauthenticated datagram is visible in status output instead of being a crash
 * or silence. Reasons are free-form strings; the envelope's DropReason values
 * are the common ones.
 */
export class DropCounter<R extends string = string> {
  private readonly counts = new Map<R, number>();
  private sum = 0;

  count(reason: R, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
    this.sum += n;
  }

  get(reason: R): number {
    return this.counts.get(reason) ?? 0;
  }

  get total(): number {
    return this.sum;
  }

  /** a copy, keys sorted, safe to serialize */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort()) out[k] = this.counts.get(k)!;
    return out;
  }

  /** several counters' snapshots summed by reason */
  static sum(counters: ReadonlyArray<DropCounter>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of counters) for (const [k, n] of c.counts) out[k] = (out[k] ?? 0) + n;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  reset(): void {
    this.counts.clear();
    this.sum = 0;
  }
}
