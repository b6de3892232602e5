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

  reset(): void {
    this.counts.clear();
    this.sum = 0;
  }
}
