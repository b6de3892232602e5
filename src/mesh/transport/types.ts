/** How mesh frames move between peers: real UDP (udp.ts) or a simulated network (memory.ts). */

/** "a.b.c.d:port" (see addr.ts) */
export type Addr = string;

export type ReceiveHandler = (data: Buffer, from: Addr) => void;

export interface Transport {
  /** where this transport receives */
  readonly address: Addr;
  /** best effort; never throws for an unreachable or unknown peer (the transport counts it) */
  send(to: Addr, data: Uint8Array): void;
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
}
