/**
 * The truth a history is checked against: who owns each address, as a plain
 * list of segments, written independently of the ring (naive splitting).
 */
import { SPACE } from '../../../../../src/ipam/ring';

interface Segment {
  start: number;
  end: number;
  owner: string;
}

export class OwnershipModel {
  private segs: Segment[] = [];

  claimAll(owner: string): void {
    this.segs = [{ start: 0, end: SPACE, owner }];
  }

  set(start: number, end: number, owner: string): void {
    const out: Segment[] = [];
    for (const s of this.segs) {
      if (s.end <= start || s.start >= end) {
        out.push(s);
        continue;
      }
      if (s.start < start) out.push({ start: s.start, end: start, owner: s.owner });
      out.push({ start: Math.max(s.start, start), end: Math.min(s.end, end), owner });
      if (s.end > end) out.push({ start: end, end: s.end, owner: s.owner });
    }
    this.segs = out;
  }

  ownerAt(ip: number): string | undefined {
    return this.segs.find((s) => s.start <= ip && ip < s.end)?.owner;
  }

  ownsAll(owner: string, start: number, end: number): boolean {
    return this.segs.every((s) => s.end <= start || s.start >= end || s.owner === owner);
  }

  /** every point where ownership may change */
  boundaries(): number[] {
    return this.segs.map((s) => s.start);
  }
}
