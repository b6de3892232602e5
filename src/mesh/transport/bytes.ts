/**
 * A message given as one buffer or as parts to be sent back to back (gathered),
 * so the layers that each put a header before the next one's bytes (sleeve,
 * envelope, framing) need not copy the whole message to do it: a 64 KiB sleeve
 * datagram used to be copied three times, and allocated three times, before the
 * kernel copied it once more; each such buffer is external memory to V8, and
 * their churn kept its major GC running.
 */
export type Bytes = Uint8Array | readonly Uint8Array[];

export function isParts(b: Bytes): b is readonly Uint8Array[] {
  return Array.isArray(b);
}

export function byteLength(b: Bytes): number {
  if (!isParts(b)) return b.length;
  let n = 0;
  for (const p of b) n += p.length;
  return n;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** one buffer: the buffer itself when it is one, else the parts copied together */
export function joined(b: Bytes): Buffer {
  return isParts(b) ? Buffer.concat(b as Uint8Array[]) : asBuffer(b);
}

/** reads the bytes of a message in order, copying each stretch straight from its parts */
export class BytesReader {
  private readonly parts: readonly Buffer[];
  private i = 0;
  private off = 0;

  constructor(b: Bytes) {
    // Buffer views, so copy() (a memcpy, no view per stretch) works whatever kind of Uint8Array came in
    this.parts = (isParts(b) ? b : [b]).map(asBuffer);
  }

  /** copies the next n bytes into dst at `at`; RangeError when fewer are left */
  copyTo(dst: Uint8Array, at: number, n: number): void {
    while (n > 0) {
      const p = this.parts[this.i];
      if (p === undefined) throw new RangeError('BytesReader: read past the end');
      const take = Math.min(n, p.length - this.off);
      if (take > 0) {
        p.copy(dst, at, this.off, this.off + take);
        at += take;
        n -= take;
        this.off += take;
      }
      if (this.off === p.length) {
        this.i++;
        this.off = 0;
      }
    }
  }
}
