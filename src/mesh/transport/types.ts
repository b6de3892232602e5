/** How mesh frames move between peers: real UDP (udp.ts) or a simulated network (memory.ts). */
import type { Bytes } from './bytes';
import type { SendBufferCounts } from './sendBuffers';

/** "a.b.c.d:port" (see addr.ts) */
export type Addr = string;

/**
 * data is the handler's own: every read gets a buffer no one else holds (Node's dgram does this, and the
 * simulated network copies), so a handler may keep it, or overwrite it (FramedTransport joins chunks in place).
 */
export type ReceiveHandler = (data: Buffer, from: Addr) => void;

export interface Transport {
  /** where this transport receives */
  readonly address: Addr;
  /**
   * best effort; never throws for an unreachable or unknown peer (the transport counts it). data may
   * be parts, sent as their concatenation; do not change them afterwards (a send may be queued)
   */
  send(to: Addr, data: Bytes): void;
  /**
   * true when send() has copied data before it returns (the caller may then reuse it at once), as a
   * transport that frames its messages into buffers of its own does; absent or false: see send()
   */
  readonly copiesOnSend?: boolean;
  /**
   * A buffer of exactly `size` bytes (contents unspecified) that this transport takes back once the
   * datagram has left: write the whole datagram into it and pass it to send() exactly once, unchanged
   * afterwards. Optional: only transports that recycle send buffers have it.
   */
  sendBuffer?(size: number): Buffer;
  /** a datagram exactly as given, outside any framing the transport adds (the fast-path probe to a VXLAN port) */
  sendRaw(to: Addr, data: Uint8Array): void;
  /** one handler; setting another replaces it */
  onReceive(handler: ReceiveHandler): void;
  /** stops receiving; idempotent */
  close(): Promise<void>;
}

/** per-transport counters */
export interface TransportStats {
  sent: number;
  received: number;
  dropped: Record<string, number>;
  /** the send-buffer pool's counters, for a transport that has one */
  sendBuffers?: SendBufferCounts;
}
