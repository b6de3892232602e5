/**
 * Who the peers are and whether each answers. Identity (nickname, address) is
 * gossiped; liveness is this peer's own view, from the last time it heard each
 * peer directly: alive, then suspect, then dead as silence grows. A dead peer
 * comes back by itself when it is heard again (heartbeats keep going to it).
 */
import type { Addr } from './transport/types';
import type { PeerId } from './peerId';

export type PeerState = 'alive' | 'suspect' | 'dead';

export interface PeerInfo {
  nickname: string;
  addr: Addr;
  /** removed for good with `weft rmpeer` */
  removed?: boolean;
  /** takes kernel VXLAN traffic (has the probe device) */
  fastdp?: boolean;
}

export interface PeerStatus extends PeerInfo {
  id: PeerId;
  state: PeerState;
  lastHeard?: number;
  /** when silence made it dead (a dead peer heard before) */
  deadSince?: number;
  rttMs?: number;
}

export interface LivenessTimes {
  suspectMs: number;
  deadMs: number;
}

interface Contact {
  lastHeard?: number;
  rttMs?: number;
  /** where its datagrams came from (trusted over the gossiped address) */
  seenAt?: Addr;
}

export class Membership {
  private readonly contacts = new Map<PeerId, Contact>();
  /** addresses given by the user (launch/connect) */
  private readonly targets = new Set<Addr>();

  constructor(private readonly self: PeerId, private readonly times: LivenessTimes) {}

  addTarget(addr: Addr): void {
    this.targets.add(addr);
  }

  removeTarget(addr: Addr): boolean {
    return this.targets.delete(addr);
  }

  configuredTargets(): Addr[] {
    return [...this.targets];
  }

  /**
   * Records a datagram from `id`; true when the peer is news: never heard before (or forgotten), or
   * dead until this datagram (back after a partition or a restart), so the caller can bring it up to
   * date at once instead of leaving that to a random anti-entropy round.
   */
  heard(id: PeerId, from: Addr, now: number): boolean {
    if (id === this.self) return false;
    const c = this.contacts.get(id) ?? {};
    const news = c.lastHeard === undefined || this.state(id, now) === 'dead';
    c.lastHeard = now;
    c.seenAt = from;
    this.contacts.set(id, c);
    return news;
  }

  rtt(id: PeerId, ms: number): void {
    const c = this.contacts.get(id);
    // smoothed like TCP's SRTT so one slow ack does not swing it
    if (c) c.rttMs = c.rttMs === undefined ? ms : Math.round((c.rttMs * 7 + ms) / 8 * 10) / 10;
  }

  rttOf(id: PeerId): number | undefined {
    return this.contacts.get(id)?.rttMs;
  }

  state(id: PeerId, now: number): PeerState {
    const last = this.contacts.get(id)?.lastHeard;
    if (last === undefined) return 'dead';
    const silent = now - last;
    return silent < this.times.suspectMs ? 'alive' : silent < this.times.deadMs ? 'suspect' : 'dead';
  }

  /** where to send to reach a peer: where it was seen, else what it announced */
  addrOf(id: PeerId, announced?: Addr): Addr | undefined {
    return this.contacts.get(id)?.seenAt ?? announced;
  }

  status(id: PeerId, info: PeerInfo, now: number): PeerStatus {
    const c = this.contacts.get(id);
    const state = this.state(id, now);
    return {
      id,
      nickname: info.nickname,
      addr: this.addrOf(id, info.addr) ?? info.addr,
      state,
      ...(c?.lastHeard !== undefined ? { lastHeard: c.lastHeard } : {}),
      ...(state === 'dead' && c?.lastHeard !== undefined ? { deadSince: c.lastHeard + this.times.deadMs } : {}),
      ...(c?.rttMs !== undefined ? { rttMs: c.rttMs } : {}),
    };
  }

  /** peers heard directly and recently, whether or not their identity has been gossiped to us yet */
  answering(now: number): PeerId[] {
    return this.heardWithin(now, this.times.suspectMs);
  }

  /** answering peers and suspect ones: silent for a while, but not yet dead (maybe only slow) */
  notDead(now: number): PeerId[] {
    return this.heardWithin(now, this.times.deadMs);
  }

  private heardWithin(now: number, ms: number): PeerId[] {
    const out: PeerId[] = [];
    for (const [id, c] of this.contacts) if (c.lastHeard !== undefined && now - c.lastHeard < ms) out.push(id);
    return out;
  }

  forget(id: PeerId): void {
    this.contacts.delete(id);
  }
}
