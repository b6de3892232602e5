/**
 * Epidemic gossip with anti-entropy over the mesh's datagrams.
 * - A local change goes to every live or suspect peer while there are at most
 *   `broadcastUpTo` of them (one hop: a new endpoint is everywhere in
 *   milliseconds), else to `fanout` random ones; a peer that learns news passes
 *   only the news on, to `fanout` others: O(log n) rounds.
 * - Every `antiEntropyMs`, each channel's digest goes to one random live peer,
 *   which answers with what we lack and, if we have what it lacks, its own
 *   digest (push-pull), so lost datagrams and healed partitions converge.
 * Wire (payload of a Gossip message): kind u8, channel u8, data.
 */
import type { Scheduler, TimerHandle } from '../../util/scheduler';
import type { Link } from '../link';
import { pick } from '../link';
import type { DropCounter } from '../stats';
import { MessageType } from '../messageTypes';
import type { PeerId } from '../peerId';
import { type ChannelId, type GossipChannel, GossipRejected } from './channel';

const Kind = { Digest: 1, Update: 2, DigestReply: 3 } as const;

export interface GossipOptions {
  fanout: number;
  antiEntropyMs: number;
  /** a local change goes straight to every live peer up to this many (default 64) */
  broadcastUpTo?: number;
}

export class GossipEngine {
  private readonly channels = new Map<number, GossipChannel>();
  private timer?: TimerHandle;
  /** updates sent and merged, for status and tests */
  readonly counts = { sent: 0, received: 0, news: 0 };

  constructor(
    private readonly link: Link,
    private readonly scheduler: Scheduler,
    private readonly random: () => number,
    private readonly drops: DropCounter,
    private readonly o: GossipOptions,
  ) {}

  add(ch: GossipChannel): void {
    this.channels.set(ch.id, ch);
    ch.onLocalChange = (update) => this.spread(ch.id, update, undefined, true);
  }

  start(): void {
    this.timer = this.scheduler.every(this.o.antiEntropyMs, () => this.antiEntropy());
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** one anti-entropy round now (also used by tests and on a peer's (re)appearance) */
  antiEntropy(to?: PeerId): void {
    const target = to ?? pick(this.link.alivePeers(), 1, this.random)[0];
    if (!target) return;
    for (const ch of this.channels.values()) this.send(target, Kind.Digest, ch.id, ch.digest());
  }

  handle(from: PeerId, payload: Buffer): void {
    if (payload.length < 2) return this.drops.count('gossipShort');
    const kind = payload[0];
    const ch = this.channels.get(payload[1]);
    if (!ch) return this.drops.count('gossipUnknownChannel');
    const data = payload.subarray(2);
    try {
      switch (kind) {
        case Kind.Digest:
        case Kind.DigestReply: {
          const { missing, behind } = ch.compare(data);
          for (const u of missing) this.send(from, Kind.Update, ch.id, u);
          if (kind === Kind.Digest && behind) this.send(from, Kind.DigestReply, ch.id, ch.digest());
          return;
        }
        case Kind.Update: {
          this.counts.received++;
          const news = ch.merge(data, from);
          if (news) {
            this.counts.news++;
            this.spread(ch.id, news, from);
          }
          return;
        }
        default:
          return this.drops.count('gossipBadKind');
      }
    } catch (e) {
      if (e instanceof GossipRejected) return this.drops.count(`gossip:${e.reason}`);
      throw e;
    }
  }

  private spread(channel: ChannelId, update: Buffer, except?: PeerId, local = false): void {
    // a local change also goes to suspect peers, as memberlist gossips to them: a peer is suspect when
    // its heartbeats are late, which on a loaded host is often only slowness, and left out it would
    // wait for anti-entropy (a second or more) for news it could have had at once
    const peers = (local ? this.link.reachablePeers() : this.link.alivePeers()).filter((p) => p !== except);
    const all = local && peers.length <= (this.o.broadcastUpTo ?? 64);
    for (const p of all ? peers : pick(peers, this.o.fanout, this.random)) this.send(p, Kind.Update, channel, update);
  }

  private send(to: PeerId, kind: number, channel: number, data: Buffer): void {
    if (kind === Kind.Update) this.counts.sent++;
    const payload = Buffer.allocUnsafe(2 + data.length);
    payload[0] = kind;
    payload[1] = channel;
    data.copy(payload, 2);
    this.link.send(to, MessageType.Gossip, payload);
  }
}
