/**
 * A simulated datagram network on injected time, for tests and simulations of
 * hundreds of peers: latency, jitter (hence reordering), loss, duplication,
 * partitions and one-way blocks, all repeatable from a seed. Delivery always
 * happens on a scheduler timer, never inside send(), like a real network.
 */
import type { Scheduler, TimerHandle } from '../../util/scheduler';
import { DropCounter } from '../stats';
import { formatAddr, parseAddr } from './addr';
import { type Bytes, joined } from './bytes';
import { MAX_UDP_PAYLOAD } from './framing';
import { Packet, PacketQueue } from './packetQueue';
import type { Addr, ReceiveHandler, Transport } from './types';
import { seededRandom } from '../../util/random';

export interface MemoryNetworkOptions {
  /** one-way delay, ms (default 1) */
  latencyMs?: number;
  /** extra delay, uniform integer in 0..jitterMs (default 0) */
  jitterMs?: number;
  /** probability a datagram is lost (default 0) */
  loss?: number;
  /** probability a datagram is delivered twice (default 0) */
  duplicate?: number;
  /** PRNG seed (default 1) */
  seed?: number;
}

export type MemoryDropReason = 'tooLarge' | 'unknownPeer' | 'senderClosed' | 'receiverClosed' | 'noHandler' | 'partitioned' | 'blocked' | 'loss';

export interface MemoryNetworkStats {
  /** send() calls */
  sent: number;
  /** handler calls (duplicates count twice) */
  delivered: number;
  /** extra copies made by duplication */
  duplicated: number;
  inFlight: number;
  dropped: Record<string, number>;
}


function probability(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${p}`);
  return p;
}

class MemoryTransport implements Transport {
  handler: ReceiveHandler | undefined;
  closed = false;

  constructor(
    readonly address: Addr,
    private readonly net: MemoryNetwork,
  ) {}

  /** the network copies what it carries before route() returns, as the wire would */
  readonly copiesOnSend = true;

  send(to: Addr, data: Bytes): void {
    this.net.route(this, to, joined(data));
  }

  sendRaw(to: Addr, data: Uint8Array): void {
    this.net.route(this, to, data);
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.net.detach(this);
    }
    return Promise.resolve();
  }
}

interface Partition {
  a: ReadonlySet<Addr>;
  b: ReadonlySet<Addr>;
}

export class MemoryNetwork {
  readonly drops = new DropCounter<MemoryDropReason>();
  private readonly latency: number;
  private readonly jitter: number;
  private loss: number;
  private readonly dup: number;
  private readonly random: () => number;
  private readonly open = new Map<Addr, MemoryTransport>();
  private readonly queue = new PacketQueue();
  private partitions: Partition[] = [];
  private readonly blocks = new Map<Addr, Set<Addr>>();
  private seq = 0;
  private sent = 0;
  private delivered = 0;
  private duplicated = 0;
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  private readonly drainNow = () => this.drain();

  constructor(
    private readonly scheduler: Scheduler,
    o: MemoryNetworkOptions = {},
  ) {
    this.latency = o.latencyMs ?? 1;
    this.jitter = o.jitterMs ?? 0;
    if (!(this.latency >= 0) || !(this.jitter >= 0)) throw new RangeError('latencyMs and jitterMs must be >= 0');
    this.loss = probability('loss', o.loss ?? 0);
    this.dup = probability('duplicate', o.duplicate ?? 0);
    this.random = seededRandom(o.seed ?? 1);
  }

  /** a transport receiving at addr (canonical "a.b.c.d:port"); the address must be free */
  transport(addr: Addr): Transport {
    if (formatAddr(parseAddr(addr)) !== addr) throw new RangeError(`address ${JSON.stringify(addr)} is not in canonical "a.b.c.d:port" form`);
    if (this.open.has(addr)) throw new Error(`address ${addr} is in use`);
    const t = new MemoryTransport(addr, this);
    this.open.set(addr, t);
    return t;
  }

  /** no traffic between the two groups, either way, until heal() */
  partition(a: Addr[], b: Addr[]): void {
    this.partitions.push({ a: new Set(a), b: new Set(b) });
  }

  /** no traffic from → to (the other direction still flows), until heal() */
  block(from: Addr, to: Addr): void {
    let s = this.blocks.get(from);
    if (!s) this.blocks.set(from, (s = new Set()));
    s.add(to);
  }

  /** removes every partition and block; packets already dropped stay dropped */
  heal(): void {
    this.partitions = [];
    this.blocks.clear();
  }

  setLoss(p: number): void {
    this.loss = probability('loss', p);
  }

  get stats(): MemoryNetworkStats {
    return { sent: this.sent, delivered: this.delivered, duplicated: this.duplicated, inFlight: this.queue.size, dropped: this.drops.snapshot() };
  }

  /** @internal called by MemoryTransport.send; partitions, blocks and loss apply at send time */
  route(src: MemoryTransport, to: Addr, data: Uint8Array): void {
    this.sent++;
    if (src.closed) return this.drops.count('senderClosed');
    if (data.length > MAX_UDP_PAYLOAD) return this.drops.count('tooLarge');
    if (!this.open.has(to)) return this.drops.count('unknownPeer');
    const from = src.address;
    if (this.partitions.length !== 0 && this.partitioned(from, to)) return this.drops.count('partitioned');
    if (this.blocks.size !== 0 && this.blocks.get(from)?.has(to)) return this.drops.count('blocked');
    if (this.loss !== 0 && this.random() < this.loss) return this.drops.count('loss');
    // a copy, as the wire would make: the sender may reuse its buffer
    const copy = Buffer.from(data);
    this.enqueue(from, to, copy);
    if (this.dup !== 0 && this.random() < this.dup) {
      this.duplicated++;
      this.enqueue(from, to, Buffer.from(copy));
    }
  }

  /** @internal */
  detach(t: MemoryTransport): void {
    if (this.open.get(t.address) === t) this.open.delete(t.address);
  }

  private partitioned(from: Addr, to: Addr): boolean {
    for (const p of this.partitions) {
      if ((p.a.has(from) && p.b.has(to)) || (p.b.has(from) && p.a.has(to))) return true;
    }
    return false;
  }

  private enqueue(from: Addr, to: Addr, data: Buffer): void {
    const delay = this.jitter === 0 ? this.latency : this.latency + Math.floor(this.random() * (this.jitter + 1));
    const at = this.scheduler.now() + delay;
    this.queue.push(new Packet(at, this.seq++, from, to, data));
    if (at < this.armedAt) this.arm(at);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.now()), this.drainNow);
  }

  /**
   * Delivers every packet due now that was queued before this drain began;
   * packets sent by handlers wait for the next timer, so zero latency cannot
   * starve other timers.
   */
  private drain(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.scheduler.now();
    const limit = this.seq;
    try {
      for (let p = this.queue.peek(); p && p.at <= now && p.seq < limit; p = this.queue.peek()) {
        this.queue.pop();
        this.deliver(p);
      }
    } finally {
      const next = this.queue.peek();
      if (next && next.at < this.armedAt) this.arm(next.at);
    }
  }

  private deliver(p: Packet): void {
    const dest = this.open.get(p.to);
    if (!dest) return this.drops.count('receiverClosed');
    const h = dest.handler;
    if (!h) return this.drops.count('noHandler');
    this.delivered++;
    h(p.data, p.from);
  }
}
