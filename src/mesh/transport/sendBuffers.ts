/**
 * Send buffers used again and again, so that the data path does not allocate
 * an ArrayBuffer per datagram.
 *
 * Why: a buffer larger than Buffer's shared pool is a new ArrayBuffer, which V8
 * counts as external memory. At thousands of 64 KiB datagrams a second that
 * churn kept V8 starting full (Mark-Compact) collections every 50–100 ms.
 *
 * Every pooled buffer has one capacity, the largest datagram the transport
 * sends; take() hands out a view of one at the size asked for. Buffers are
 * known by their ArrayBuffer, so any view of one (the datagram as sent) gives
 * it back. Pure bookkeeping: the owner decides when a buffer is free again
 * (for a socket, once the send has completed, not when it was asked for).
 */
import { MAX_UDP_PAYLOAD } from './framing';

export interface SendBufferCounts {
  /** pooled buffers allocated because none was free */
  allocated: number;
  /** takes served by a buffer given back earlier */
  reused: number;
  /** takes served by a plain allocation the pool does not take back (too small or too large to pool) */
  oneOff: number;
  /** gives of a pooled buffer that was not out (given back twice): ignored */
  doubleGives: number;
  /** buffers on the free list now */
  free: number;
}

export interface SendBufferPoolOptions {
  /** bytes in every pooled buffer; default MAX_UDP_PAYLOAD */
  capacity?: number;
  /** most buffers kept for reuse; more given back are left to GC (default 32) */
  maxFree?: number;
  /**
   * takes smaller than this are plain Buffer.allocUnsafe, not pooled. Default: what Buffer
   * itself serves from its shared 8 KiB slab (no ArrayBuffer of their own), so pooling them
   * gains nothing and would hold a whole pooled buffer for each small datagram in flight
   */
  minPooled?: number;
}

export class SendBufferPool {
  readonly capacity: number;
  private readonly maxFree: number;
  private readonly minPooled: number;
  /** LIFO: the buffer given back last is the likeliest still in cache */
  private readonly freeList: ArrayBuffer[] = [];
  /** every ArrayBuffer this pool made (weak: one it dropped must not stay alive here) */
  private readonly made = new WeakSet<ArrayBufferLike>();
  /** the ones taken and not yet given back */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private readonly counts = { allocated: 0, reused: 0, oneOff: 0, doubleGives: 0 };

  constructor(o: SendBufferPoolOptions = {}) {
    this.capacity = o.capacity ?? MAX_UDP_PAYLOAD;
    this.maxFree = o.maxFree ?? 32;
    this.minPooled = o.minPooled ?? Buffer.poolSize >>> 1;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError(`capacity ${this.capacity} must be a positive integer`);
    if (!Number.isInteger(this.maxFree) || this.maxFree < 0) throw new RangeError(`maxFree ${this.maxFree} must be an integer of at least 0`);
  }

  /** a buffer of exactly `size` bytes, contents unspecified; give() it back once nothing reads it any more */
  take(size: number): Buffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size ${size} is not a non-negative integer`);
    if (size > this.capacity || size < this.minPooled) {
      this.counts.oneOff++;
      return Buffer.allocUnsafe(size);
    }
    let ab = this.freeList.pop();
    if (ab) {
      this.counts.reused++;
    } else {
      // allocUnsafeSlow: an ArrayBuffer of its own, never a slice of Buffer's shared slab
      ab = Buffer.allocUnsafeSlow(this.capacity).buffer as ArrayBuffer;
      this.made.add(ab);
      this.counts.allocated++;
    }
    this.lent.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** whether buf is a view of a pooled buffer taken and not yet given back */
  isLent(buf: Uint8Array): boolean {
    return this.lent.has(buf.buffer);
  }

  /**
   * Takes back a buffer from take() (any view of it). Anything else is ignored; so is a pooled
   * buffer that is not out (a second give would put it on the free list twice, and hand one
   * buffer to two senders), which is counted.
   */
  give(buf: Uint8Array): void {
    const ab = buf.buffer;
    if (!this.lent.delete(ab)) {
      if (this.made.has(ab)) this.counts.doubleGives++;
      return;
    }
    if (this.freeList.length < this.maxFree) this.freeList.push(ab as ArrayBuffer);
  }

  get stats(): SendBufferCounts {
    return { ...this.counts, free: this.freeList.length };
  }
}
