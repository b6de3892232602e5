/**
 * An in-memory TapDevice for unit tests: inject() plays the bridge sending frames
 * to the TAP, `written` records what was written into it. It batches like the
 * native reader (up to 64 frames, closing a batch once it holds 64 KiB) and drops
 * like the kernel (frames shorter than an Ethernet header, or everything while
 * setFull(true)), and refuses malformed packed batches the same way.
 *
 * Delivery is synchronous: inject() returns after onBatch has seen every batch.
 * Frames injected before start() wait, as they would in the kernel's queue.
 *
 * Like the native reader it takes batches back only at recycle(): then it overwrites
 * every batch delivered so far with POISON, so a caller that recycles while it still
 * holds a view reads garbage in a test too; and a batch delivered while the caller
 * holds TAP_RING_SLOTS of them counts as a one-off (where the native reader would
 * allocate one, or wait for a caller that recycles: inject() cannot wait).
 *
 * With { vnetHdr: VNET_HDR_BYTES } it plays a TAP with virtio-net headers: frames
 * injected and written include the header (give it yourself: withVnetHdr), and the
 * shortest frame is header + Ethernet header.
 */
import { ETH_HLEN } from '../frames/ethernet';
import { TapError } from './errors';
import { packFrames, unpackFrames } from './packed';
import { TAP_BATCH_BYTES, TAP_BATCH_FRAMES, TAP_RING_SLOTS } from './native';
import type { TapDevice, TapStats } from './tap';
import { VNET_HDR_BYTES } from './vnet';

/** what recycle() fills the batches it takes back with */
export const POISON = 0xee;

export class MemoryTap implements TapDevice {
  /** every frame written, in order (copies) */
  readonly written: Buffer[] = [];
  private onBatch?: (packed: Buffer, count: number) => void;
  private waiting: Buffer[] = [];
  /** batches delivered and not yet recycled */
  private held: Buffer[] = [];
  private full = false;
  private closed = false;
  private readonly counters: TapStats = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dropsOut: 0, batches: 0, oneOffBatches: 0 };

  readonly vnetHdr: number;

  constructor(
    readonly name = 'memtap0',
    o: { vnetHdr?: number } = {},
  ) {
    this.vnetHdr = o.vnetHdr ?? 0;
    if (this.vnetHdr !== 0 && this.vnetHdr !== VNET_HDR_BYTES) throw new RangeError(`vnetHdr is 0 or ${VNET_HDR_BYTES}, not ${this.vnetHdr}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(onBatch: (packed: Buffer, count: number) => void): void {
    this.check('start');
    if (this.onBatch) throw new TapError('EALREADY', `TAP ${this.name}: already started`);
    this.onBatch = onBatch;
    const waiting = this.waiting;
    this.waiting = [];
    this.deliver(waiting);
  }

  /** the bridge sends these frames to the TAP; returns how many batches onBatch got (0 before start) */
  inject(frames: readonly Buffer[]): number {
    this.check('inject');
    if (!this.onBatch) {
      this.waiting.push(...frames.map((f) => Buffer.from(f)));
      return 0;
    }
    return this.deliver(frames);
  }

  write(packed: Buffer): number {
    this.check('write');
    const frames = unpackFrames(packed); // throws EMALFORMED before anything is written
    let n = 0;
    for (const f of frames) {
      if (this.full || f.length < this.vnetHdr + ETH_HLEN) {
        this.counters.dropsOut++;
        continue;
      }
      this.written.push(Buffer.from(f));
      this.counters.framesOut++;
      this.counters.bytesOut += f.length;
      n++;
    }
    return n;
  }

  recycle(): void {
    for (const b of this.held) b.fill(POISON);
    this.held = [];
  }

  /** batches delivered that recycle() has not taken back */
  get heldBatches(): number {
    return this.held.length;
  }

  /** while full, every written frame is dropped (as when the kernel says EAGAIN/ENOBUFS) */
  setFull(full: boolean): void {
    this.full = full;
  }

  stats(): TapStats {
    return { ...this.counters };
  }

  close(): void {
    this.closed = true;
    this.onBatch = undefined;
    this.waiting = [];
  }

  private deliver(frames: readonly Buffer[]): number {
    const cb = this.onBatch;
    if (!cb) return 0;
    let batches = 0;
    for (let i = 0; i < frames.length; ) {
      const batch: Buffer[] = [];
      let bytes = 0;
      while (i < frames.length && batch.length < TAP_BATCH_FRAMES && bytes < TAP_BATCH_BYTES) {
        batch.push(frames[i]);
        bytes += 2 + frames[i].length;
        i++;
      }
      const packed = packFrames(batch);
      this.counters.framesIn += batch.length;
      this.counters.bytesIn += bytes - 2 * batch.length;
      this.counters.batches++;
      if (this.held.length >= TAP_RING_SLOTS) this.counters.oneOffBatches++;
      this.held.push(packed);
      batches++;
      cb(packed, batch.length);
      if (this.closed) break; // the callback closed us
    }
    return batches;
  }

  private check(op: string): void {
    if (this.closed) throw new TapError('ECLOSED', `TAP ${this.name}: ${op} after close()`);
  }
}
