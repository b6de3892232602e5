/**
 * Time and timers, injected so protocols run on fake time in tests: a
 * simulation of hundreds of peers advances a FakeScheduler instead of sleeping.
 */
import type { Clock } from './clock';

export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler extends Clock {
  /** runs fn once after ms */
  after(ms: number, fn: () => void): TimerHandle;
  /** runs fn every ms until cancelled */
  every(ms: number, fn: () => void): TimerHandle;
}

export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  period?: number;
  cancelled: boolean;
}

const earlier = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * Deterministic fake time: timers fire in (time, creation) order as time is
 * advanced. A binary heap keeps simulations of many peers (many timers) fast;
 * cancelled timers are dropped when they reach the top.
 */
export class FakeScheduler implements Scheduler {
  private t: number;
  private seq = 0;
  private readonly heap: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, fn);
  }

  every(ms: number, fn: () => void): TimerHandle {
    if (!(ms > 0)) throw new RangeError('every() needs a positive period');
    return this.add(ms, fn, ms);
  }

  /** number of timers still pending */
  get pending(): number {
    return this.heap.filter((x) => !x.cancelled).length;
  }

  /** moves time forward by ms, firing every timer that falls due, in order */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      while (this.heap.length && this.heap[0].cancelled) this.pop();
      if (!this.heap.length || this.heap[0].at > end) break;
      const next = this.pop();
      this.t = next.at;
      if (next.period !== undefined) {
        next.at += next.period;
        next.seq = this.seq++;
        this.push(next);
      }
      next.fn();
    }
    this.t = end;
  }

  /** runs timers due now (zero-delay work queued by other timers) */
  flush(): void {
    this.advance(0);
  }

  private add(ms: number, fn: () => void, period?: number): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, ...(period !== undefined ? { period } : {}) };
    this.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        timer.period = undefined;
      },
    };
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && earlier(h[l], h[m])) m = l;
        if (r < h.length && earlier(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
