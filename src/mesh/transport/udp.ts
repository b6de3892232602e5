/**
 * The real transport: one IPv4 UDP socket (dgram-as-promised). Sends are fire
 * and forget; every refusal or error is counted, never thrown, because a peer
 * going away must not take this one down. It moves datagrams as they are; the
 * mesh's socket asks for GSO/GRO here and frames its messages above
 * (framed.ts).
 */
import { DropCounter } from '../stats';
import { formatAddr, tryParseAddr } from './addr';
import { byteLength, type Bytes, isParts } from './bytes';
import { MAX_UDP_PAYLOAD } from './framing';
import { SendBufferPool } from './sendBuffers';
import type { Addr, ReceiveHandler, Transport, TransportStats } from './types';
import { enableUdpOffload, type OffloadResult } from './udpOffload';

// type-only: the package is ESM and is loaded with import() in open()
type Dgram = typeof import('dgram-as-promised', { with: { 'resolution-mode': 'import' } });
type Socket = ReturnType<Dgram['DgramAsPromised']['createSocket']>;

export interface UdpOptions {
  /** IPv4 address to bind, e.g. "0.0.0.0" or "127.0.0.1" */
  host: string;
  /** 0 picks a free port */
  port: number;
  /** told about a handler that threw (counted as 'handlerError' either way) */
  onError?: (err: unknown) => void;
  /** SO_RCVBUF / SO_SNDBUF asked for; default SOCKET_BUFFER_BYTES */
  bufferBytes?: number;
  /** UDP_SEGMENT: the kernel cuts sends longer than this into datagrams of this size (only for framed use) */
  segment?: number;
  /** UDP_GRO: a read may hold several datagrams back to back (only for framed use) */
  gro?: boolean;
}

/**
 * Socket buffers asked for. Sleeve datagrams are up to 64 KiB, and each takes
 * about twice that of a receive buffer once the kernel has reassembled its IP
 * fragments: the default 208 KiB holds two, and bursts drop. The kernel caps
 * the request at net.core.rmem_max / wmem_max (and doubles what it grants).
 */
export const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

export type UdpDropReason = 'tooLarge' | 'badAddr' | 'closed' | 'sendError' | 'noHandler' | 'handlerError';

export class UdpTransport implements Transport {
  readonly drops = new DropCounter<UdpDropReason>();
  private handler: ReceiveHandler | undefined;
  private closing: Promise<void> | undefined;
  private sent = 0;
  private received = 0;
  private readonly sendFailed = () => this.drops.count('sendError');
  /** sendBuffer()'s buffers, back here once their send has completed */
  private readonly pool = new SendBufferPool({ capacity: MAX_UDP_PAYLOAD });
  /** parsed destinations: a busy sleeve sends to the same few peers thousands of times a second */
  private readonly dests = new Map<Addr, { host: string; port: number }>();

  private constructor(
    private readonly socket: Socket,
    readonly address: Addr,
    private readonly onError: ((err: unknown) => void) | undefined,
    /** what the kernel granted of `segment` and `gro` */
    readonly offload: OffloadResult,
  ) {}

  static async open(o: UdpOptions): Promise<UdpTransport> {
    if (!tryParseAddr(`${o.host}:1`)) throw new RangeError(`bind host ${JSON.stringify(o.host)} is not an IPv4 address`);
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new RangeError(`bind port ${o.port} is not in 0..65535`);
    const { DgramAsPromised } = await import('dgram-as-promised');
    let self: UdpTransport | undefined;
    // The 'message' callback, not a recv() loop: one long-lived listener, no
    // promise per datagram, and no moment where a datagram finds no listener.
    const buffers = o.bufferBytes ?? SOCKET_BUFFER_BYTES;
    const socket = DgramAsPromised.createSocket(
      { type: 'udp4', recvBufferSize: buffers, sendBufferSize: buffers },
      (msg, rinfo) => self?.receive(msg, `${rinfo.address}:${rinfo.port}`),
    );
    try {
      const bound = await socket.bind({ address: o.host, port: o.port, exclusive: true });
      const offload = await enableUdpOffload(socket.socket, { ...(o.segment !== undefined ? { segment: o.segment } : {}), gro: o.gro === true });
      self = new UdpTransport(socket, formatAddr({ host: bound.address, port: bound.port }), o.onError, offload);
      return self;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  /** SO_RCVBUF and SO_SNDBUF as the kernel granted them (doubled, capped by rmem_max / wmem_max) */
  get bufferSizes(): { recv: number; send: number } {
    return { recv: this.socket.socket.getRecvBufferSize(), send: this.socket.socket.getSendBufferSize() };
  }

  get stats(): TransportStats {
    return { sent: this.sent, received: this.received, dropped: this.drops.snapshot(), sendBuffers: this.pool.stats };
  }

  /** a pooled buffer (up to MAX_UDP_PAYLOAD bytes), taken back when its send completes */
  sendBuffer(size: number): Buffer {
    return this.pool.take(size);
  }

  send(to: Addr, data: Bytes): void {
    // one of sendBuffer()'s: back to the pool when the send settles, or now if it never goes
    const pooled = !isParts(data) && this.pool.isLent(data) ? data : undefined;
    if (this.closing) return this.refuse('closed', pooled);
    if (byteLength(data) > MAX_UDP_PAYLOAD) return this.refuse('tooLarge', pooled);
    let dest = this.dests.get(to);
    if (!dest) {
      dest = tryParseAddr(to);
      if (!dest) return this.refuse('badAddr', pooled);
      if (this.dests.size >= 4096) this.dests.clear();
      this.dests.set(to, dest);
    }
    this.sent++;
    // parts go as one datagram, gathered by the kernel (sendmsg with an iovec)
    const sending = this.socket.send(isParts(data) ? [...data] : data, dest.port, dest.host);
    if (!pooled) {
      sending.catch(this.sendFailed);
      return;
    }
    // Not before the promise settles: dgram sends only after its address lookup (a nextTick even for
    // an IP), and when the socket is busy (EAGAIN) libuv queues the send and reads the buffer later.
    sending.then(
      () => this.pool.give(pooled),
      () => {
        this.pool.give(pooled);
        this.sendFailed();
      },
    );
  }

  /** the same as send: this transport adds nothing to a datagram */
  sendRaw(to: Addr, data: Uint8Array): void {
    this.send(to, data);
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    this.closing ??= this.socket.close().catch(() => undefined);
    return this.closing;
  }

  private refuse(reason: 'closed' | 'tooLarge' | 'badAddr', pooled: Uint8Array | undefined): void {
    if (pooled) this.pool.give(pooled);
    this.drops.count(reason);
  }

  private receive(data: Buffer, from: Addr): void {
    if (this.closing) return;
    this.received++;
    const h = this.handler;
    if (!h) return this.drops.count('noHandler');
    try {
      h(data, from);
    } catch (e) {
      this.drops.count('handlerError');
      this.onError?.(e);
    }
  }
}
