/**
 * Packets in flight in a MemoryNetwork, ordered by (delivery time, send
 * order): a binary heap of plain records, so a simulation with tens of
 * thousands of packets in flight costs O(log n) per packet and one scheduler
 * timer in total rather than one per packet.
 */
import type { Addr } from './types';

export class Packet {
  constructor(
    public at: number,
    public seq: number,
    public from: Addr,
    public to: Addr,
    public data: Buffer,
  ) {}
}

const before = (a: Packet, b: Packet) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export class PacketQueue {
  private readonly h: Packet[] = [];

  get size(): number {
    return this.h.length;
  }

  peek(): Packet | undefined {
    return this.h[0];
  }

  push(p: Packet): void {
    const h = this.h;
    let i = h.length;
    h.push(p);
    // sift up by moving parents down, placing p once
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(p, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = p;
  }

  pop(): Packet | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r], h[l]) ? r : l;
      if (!before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
    return top;
  }

  clear(): void {
    this.h.length = 0;
  }
}
