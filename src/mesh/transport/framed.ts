/**
 * The mesh's messages over a datagram transport, in framing.ts records: a
 * message larger than the GSO segment goes as chunks the kernel sends as
 * separate datagrams (UDP GSO), and a read that holds several of them (UDP
 * GRO) is split and reassembled here. Without GSO a message is one record in
 * one datagram, as before. Every bad read or lost chunk is a counted drop.
 */
import { DropCounter } from '../stats';
import {
  type FrameRecord,
  joinWholeInPlace,
  layout,
  parseRecords,
  type ReassemblyDrop,
  Reassembler,
  type SendAllocator,
  singleSendCapacity,
} from './framing';
import type { Bytes } from './bytes';
import type { Addr, ReceiveHandler, Transport } from './types';

export interface FramedOptions {
  /** the inner transport's GSO segment size; undefined: one datagram per message */
  segment?: number;
  now: () => number;
  /** a message still missing chunks after this long is dropped (default 2 s) */
  timeoutMs?: number;
  /** most messages in reassembly at once (default 256: four full sleeve bursts from 64 peers) */
  maxPending?: number;
  /** most bytes in reassembly at once (default 16 MiB) */
  maxBytes?: number;
  /** told about a handler that threw (counted as 'handlerError' either way) */
  onError?: (err: unknown) => void;
}

export type FramedDropReason = 'tooLarge' | 'badFrame' | 'handlerError' | ReassemblyDrop;

export class FramedTransport implements Transport {
  readonly drops = new DropCounter<FramedDropReason>();
  /** layout() copies every message into records of its own before send() returns */
  readonly copiesOnSend = true;
  private handler: ReceiveHandler | undefined;
  private readonly reassembler: Reassembler;
  private msgId = 0;
  /** the inner transport's recycled send buffers, when it has them (it takes each back after its send) */
  private readonly alloc: SendAllocator | undefined;

  constructor(
    private readonly inner: Transport,
    private readonly o: FramedOptions,
  ) {
    this.reassembler = new Reassembler({
      timeoutMs: o.timeoutMs ?? 2000,
      maxPending: o.maxPending ?? 256,
      maxBytes: o.maxBytes ?? 16 * 1024 * 1024,
      onDrop: (reason) => this.drops.count(reason),
    });
    const sendBuffer = inner.sendBuffer;
    this.alloc = sendBuffer ? (size) => sendBuffer.call(inner, size) : undefined;
    inner.onReceive((read, from) => this.receive(read, from));
  }

  get address(): Addr {
    return this.inner.address;
  }

  /** the GSO segment in use, if any */
  get segment(): number | undefined {
    return this.o.segment;
  }

  /** messages waiting for chunks */
  get pending(): { messages: number; bytes: number } {
    return this.reassembler.pending;
  }

  send(to: Addr, data: Bytes): void {
    let buffers: Buffer[];
    try {
      buffers = layout(data, this.msgId, this.o.segment, this.alloc);
    } catch {
      return this.drops.count('tooLarge');
    }
    this.msgId = (this.msgId + 1) & 0xffff;
    // each buffer to send() exactly once and never touched again: a recycled one is not ours after this
    for (const b of buffers) this.inner.send(to, b);
  }

  sendRaw(to: Addr, data: Uint8Array): void {
    this.inner.sendRaw(to, data);
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** the largest message that leaves in one send (and so comes back in one read under GRO) */
  get singleSendCapacity(): number {
    return singleSendCapacity(this.o.segment);
  }

  private receive(read: Buffer, from: Addr): void {
    const now = this.o.now();
    // whole messages skip the reassembler: expire what waits on every read, so a lost chunk is counted soon
    this.reassembler.expire(now);
    // the common case under load: one GSO send of one message back through GRO
    const whole = joinWholeInPlace(read);
    if (whole) return this.deliver(whole, from);
    const { records, error } = parseRecords(read);
    if (error) this.drops.count(error);
    for (let i = 0; i < records.length; ) {
      const r = records[i];
      // GRO hands a GSO send back as it left: a message whose chunks all sit here in order needs no reassembly
      if (r.count > 1 && r.index === 0 && inOrder(records, i)) {
        this.deliver(Buffer.concat(records.slice(i, i + r.count).map((c) => c.body)), from);
        i += r.count;
        continue;
      }
      const message = this.reassembler.add(from, r, now);
      if (message) this.deliver(message, from);
      i++;
    }
  }

  private deliver(message: Buffer, from: Addr): void {
    const h = this.handler;
    if (!h) return;
    // one bad message must not cost the rest of the read
    try {
      h(message, from);
    } catch (e) {
      this.drops.count('handlerError');
      this.o.onError?.(e);
    }
  }
}

/** records[i..] hold chunks 0..count-1 of records[i]'s message, in order */
function inOrder(records: readonly FrameRecord[], i: number): boolean {
  const first = records[i];
  if (i + first.count > records.length) return false;
  for (let k = 1; k < first.count; k++) {
    const r = records[i + k];
    if (r.msgId !== first.msgId || r.index !== k || r.count !== first.count) return false;
  }
  return true;
}
