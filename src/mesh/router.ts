/**
 * The mesh on one peer: frames in and out of the transport (sealed when there is
 * a password), heartbeats for liveness and round-trip times, and dispatch to
 * gossip and RPC. A frame that fails to decode or authenticate is counted and
 * dropped; its sender is never listed as a peer.
 */
import type { Logger } from 'pino';
import type { Scheduler, TimerHandle } from '../util/scheduler';
import { type Opener, SEAL_OVERHEAD, type Sealer } from './crypto';
import { decodeEnvelope, encodeEnvelope, MAX_PAYLOAD_SEALED } from './envelope';
import { ChannelId } from './gossip/channel';
import { GossipEngine } from './gossip/engine';
import { SegmentChannel } from './gossip/segments';
import type { Link } from './link';
import { Membership, type PeerInfo, type PeerStatus } from './membership';
import { MessageType } from './messageTypes';
import type { PeerId } from './peerId';
import { Rpc } from './rpc';
import { DropCounter } from './stats';
import { byteLength, type Bytes } from './transport/bytes';
import type { Addr, Transport } from './transport/types';

export interface MeshOptions {
  nickname: string;
  /** the address other peers should use for us */
  advertise: Addr;
  heartbeatMs: number;
  suspectMs: number;
  deadMs: number;
  antiEntropyMs: number;
  fanout: number;
  /** announced to peers: this host takes kernel VXLAN traffic */
  fastdp?: boolean;
}

/** dead after 5 missed heartbeats: within 3 s of the last one whenever it went (the product's promise) */
export const DEFAULT_MESH_TIMES = { heartbeatMs: 500, suspectMs: 1500, deadMs: 2500, antiEntropyMs: 1000, fanout: 3 };

/** every this many heartbeats, one asks for an ack: a round-trip time per peer every 2 s */
const RTT_EVERY = 4;
const EMPTY = Buffer.alloc(0);

export interface MeshCrypto {
  sealer: Sealer;
  opener: Opener;
}

export class Mesh implements Link {
  readonly drops = new DropCounter();
  /** every sealed payload is written here when the transport copies on send (see sendTo) */
  private readonly sealScratch: Buffer | undefined;
  readonly membership: Membership;
  readonly gossip: GossipEngine;
  readonly rpc: Rpc;
  /** identity of every peer, gossiped: each writes its own */
  readonly peersChannel: SegmentChannel<PeerInfo>;
  readonly traffic = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  private timers: TimerHandle[] = [];
  private beats = 0;
  private readonly handlers = new Map<number, (sender: PeerId, payload: Buffer) => void>();
  private readonly rejectedFrom = new Map<Addr, number>();

  constructor(
    readonly self: PeerId,
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    private readonly o: MeshOptions,
    private readonly crypto: MeshCrypto | undefined,
    random: () => number,
    private readonly log?: Logger,
  ) {
    // a transport that copies on send lets every sealed frame be written into one buffer
    this.sealScratch = crypto && transport.copiesOnSend ? Buffer.allocUnsafe(MAX_PAYLOAD_SEALED + SEAL_OVERHEAD) : undefined;
    this.membership = new Membership(self, o);
    this.gossip = new GossipEngine(this, scheduler, random, this.drops, o);
    this.rpc = new Rpc(this, scheduler, this.drops);
    this.peersChannel = new SegmentChannel<PeerInfo>(ChannelId.Peers, self, { validate: validatePeerInfo });
    this.gossip.add(this.peersChannel);
    transport.onReceive((data, from) => this.receive(data, from));
  }

  /** a handler for a message type the mesh itself does not use (the data plane's) */
  on(type: number, fn: (sender: PeerId, payload: Buffer) => void): void {
    this.handlers.set(type, fn);
  }

  start(): void {
    this.peersChannel.publish({ nickname: this.o.nickname, addr: this.o.advertise, ...(this.o.fastdp ? { fastdp: true } : {}) });
    this.gossip.start();
    this.timers.push(this.scheduler.every(this.o.heartbeatMs, () => this.heartbeat()));
    this.heartbeat();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.gossip.stop();
    this.rpc.close();
    await this.transport.close();
  }

  connect(addr: Addr): void {
    this.membership.addTarget(addr);
    this.sendTo(addr, MessageType.Heartbeat, this.heartbeatPayload());
  }

  forget(addr: Addr): boolean {
    return this.membership.removeTarget(addr);
  }

  peers(): PeerStatus[] {
    const now = this.scheduler.now();
    return this.peersChannel
      .all()
      .filter((s) => s.writer !== this.self && !s.data.removed)
      .map((s) => this.membership.status(s.writer, s.data, now));
  }

  /** every peer that answers, including ones whose identity has not reached us by gossip yet */
  alivePeers(): PeerId[] {
    return this.membership.answering(this.scheduler.now());
  }

  /** alive peers and suspect ones, not yet dead */
  reachablePeers(): PeerId[] {
    return this.membership.notDead(this.scheduler.now());
  }

  /** payload may be parts (a sleeve datagram: its header and views of the TAP's frames): they are never copied together here */
  send(to: PeerId, type: number, payload: Bytes): void {
    const addr = this.addrOf(to);
    if (addr) this.sendTo(addr, type, payload);
  }

  /** where a peer is reached: where it was last heard from, else what it announced */
  addrOf(id: PeerId): Addr | undefined {
    return this.membership.addrOf(id, this.peersChannel.get(id)?.data.addr);
  }

  /** sends a datagram that is not a mesh frame (the fast-path probe) from the mesh's socket */
  sendRaw(addr: Addr, data: Buffer): void {
    this.transport.sendRaw(addr, data);
  }

  private sendTo(addr: Addr, type: number, payload: Bytes): void {
    // parts: the transport's framing copies header and payload into its records in one pass
    const c = this.crypto;
    const frame = encodeEnvelope(c ? { type, sender: this.self, payload, sealer: c.sealer, sealInto: this.sealScratch } : { type, sender: this.self, payload });
    this.traffic.framesOut++;
    this.traffic.bytesOut += byteLength(frame);
    this.transport.send(addr, frame.length === 1 ? frame[0]! : frame);
  }

  private heartbeat(): void {
    // a heartbeat alone proves liveness; only every RTT_EVERY-th asks for an ack (a round-trip time),
    // which halves the datagrams of an idle mesh, where heartbeats to every peer are most of the traffic
    const timed = this.heartbeatPayload();
    const round = this.beats++ % RTT_EVERY === 0;
    const sent = new Set<Addr>();
    for (const s of this.peersChannel.all()) {
      if (s.writer === this.self || s.data.removed) continue;
      const addr = this.membership.addrOf(s.writer, s.data.addr);
      if (addr && !sent.has(addr)) {
        sent.add(addr);
        // a peer without a round-trip time yet (new, or never answered) is asked at once
        this.sendTo(addr, MessageType.Heartbeat, round || this.membership.rttOf(s.writer) === undefined ? timed : EMPTY);
      }
    }
    // addresses the user named whose peer we do not know yet: always answered, the answer introduces it
    for (const addr of this.membership.configuredTargets()) if (!sent.has(addr)) this.sendTo(addr, MessageType.Heartbeat, timed);
  }

  /** 8 bytes: the send time, echoed in the ack for the round-trip time */
  private heartbeatPayload(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(this.scheduler.now(), 0);
    return b;
  }

  private receive(data: Buffer, from: Addr): void {
    const env = decodeEnvelope(data, this.crypto?.opener);
    if (!env.ok) {
      this.drops.count(env.reason);
      this.noteRejected(from, env.reason);
      return;
    }
    if (env.sender === this.self) return this.drops.count('fromSelf');
    this.traffic.framesIn++;
    this.traffic.bytesIn += data.length;
    const now = this.scheduler.now();
    if (this.membership.heard(env.sender, from, now)) {
      this.log?.info({ peer: env.sender, addr: from }, 'peer connected');
      // a peer seen for the first time, or back from the dead, gets our whole state at once
      this.gossip.antiEntropy(env.sender);
    }
    switch (env.type) {
      case MessageType.Heartbeat:
        if (env.payload.length === 0) return; // no ack wanted
        return this.sendTo(from, MessageType.HeartbeatAck, env.payload);
      case MessageType.HeartbeatAck: {
        const t = env.payload.length === 8 ? env.payload.readDoubleBE(0) : NaN;
        if (Number.isFinite(t) && t <= now) this.membership.rtt(env.sender, now - t);
        else this.drops.count('badHeartbeatAck');
        return;
      }
      case MessageType.Gossip:
        return this.gossip.handle(env.sender, env.payload);
      case MessageType.Request:
        return this.rpc.handleRequest(env.sender, env.payload);
      case MessageType.Reply:
        return this.rpc.handleReply(env.payload);
      default: {
        const h = this.handlers.get(env.type);
        return h ? h(env.sender, env.payload) : this.drops.count('unknownType');
      }
    }
  }

  /** one log line per address and minute, so a peer with the wrong password is visible but cannot flood the log */
  private noteRejected(from: Addr, reason: string): void {
    const now = this.scheduler.now();
    const last = this.rejectedFrom.get(from);
    if (last !== undefined && now - last < 60_000) return;
    this.rejectedFrom.set(from, now);
    if (this.rejectedFrom.size > 1024) this.rejectedFrom.clear();
    const hint = reason === 'authFailed' ? ' (wrong password?)' : reason === 'unencrypted' ? ' (peer has no password)' : reason === 'encrypted' ? ' (peer has a password, we have none)' : '';
    this.log?.warn({ addr: from, reason }, `refused a frame from ${from}: ${reason}${hint}`);
  }
}

function validatePeerInfo(d: unknown): PeerInfo {
  const o = d as { nickname?: unknown; addr?: unknown };
  if (!o || typeof o.nickname !== 'string' || o.nickname.length > 64 || typeof o.addr !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(o.addr)) {
    throw new Error('bad peer info');
  }
  const x = o as { removed?: unknown; fastdp?: unknown };
  return { nickname: o.nickname, addr: o.addr, ...(x.removed === true ? { removed: true } : {}), ...(x.fastdp === true ? { fastdp: true } : {}) };
}
