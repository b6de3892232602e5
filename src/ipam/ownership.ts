/**
 * This peer's view of who owns which addresses: the ring, kept in the store and
 * gossiped whole on the mesh (whole rings only: that keeps the single-writer
 * rule safe). Every ring carries its genesis, the claim it grew from (claimer id
 * and a random nonce): rings of different geneses come from independent claims
 * and are never merged, whatever happened to their tokens since. A conflicting
 * ring is refused, counted and reported in status.
 *
 * Wire: 16-byte genesis, then the ring codec's bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ChannelId, type GossipChannel, GossipRejected } from '../mesh/gossip/channel';
import type { PeerId } from '../mesh/peerId';
import type { Store } from '../store/types';
import type { Cidr } from '../addr/cidr';
import { decodeRing, encodeRing, isDecodeFailure, type Range, Ring, type RingEntry } from './ring';

export type OwnershipCollections = { ring: RingEntry[]; ringGenesis: string };

const GENESIS_BYTES = 16;

export interface RingConflict {
  peer: PeerId;
  token: number;
  at: number;
}

export class Ownership implements GossipChannel {
  readonly id = ChannelId.Ring;
  onLocalChange?: (update: Buffer) => void;
  /** called after the ring changed (ours or a merge): waiting requests may proceed */
  onChange?: () => void;
  conflict?: RingConflict;
  private ring: Ring;
  /** hex; undefined until we claim or adopt a ring */
  private genesis?: string;
  private cachedDigest?: Buffer;

  constructor(
    readonly self: PeerId,
    private readonly store: Store<OwnershipCollections>,
    private readonly now: () => number,
    private readonly log?: Logger,
  ) {
    this.ring = new Ring(store.get('ring', 'ring') ?? []);
    this.genesis = store.get('ringGenesis', 'genesis');
  }

  get isEmpty(): boolean {
    return this.ring.isEmpty();
  }

  /** the first peer of a cluster owns everything; only on an empty ring */
  claimAll(random: (n: number) => Buffer = randomBytes): void {
    if (!this.ring.isEmpty()) return;
    this.ring.claimAll(this.self);
    this.genesis = this.self + random(8).toString('hex');
    this.changed(true);
  }

  owner(ip: number): PeerId | undefined {
    return this.ring.owner(ip);
  }

  owns(ip: number): boolean {
    return this.ring.owner(ip) === this.self;
  }

  rangesOf(peer: PeerId, within?: Cidr): Range[] {
    return this.ring.rangesOf(peer, within);
  }

  ownedIn(within: Cidr): Map<PeerId, number> {
    return this.ring.ownedIn(within);
  }

  peers(): PeerId[] {
    return this.ring.peers();
  }

  entries(): readonly RingEntry[] {
    return this.ring.entries();
  }

  /** gives [start, end) of our space to another peer */
  transfer(to: PeerId, start: number, end: number): void {
    this.ring.transfer(this.self, to, start, end);
    this.changed(true);
  }

  /** takes over the space of a peer gone for good */
  reclaim(dead: PeerId): number {
    const n = this.ring.reclaim(dead, this.self);
    if (n > 0) this.changed(true);
    return n;
  }

  /** merges a ring received in a reply (same rules as gossip) */
  mergeEncoded(update: Buffer, from: PeerId): boolean {
    return this.merge(update, from) !== undefined;
  }

  encoded(): Buffer {
    return Buffer.concat([Buffer.from(this.genesis ?? '0'.repeat(GENESIS_BYTES * 2), 'hex'), encodeRing(this.ring.entries())]);
  }

  digest(): Buffer {
    return (this.cachedDigest ??= createHash('sha1').update(this.encoded()).digest().subarray(0, 8));
  }

  compare(peerDigest: Buffer): { missing: Buffer[]; behind: boolean } {
    // a ring is small and merges whole: when digests differ, both sides send theirs
    if (peerDigest.equals(this.digest())) return { missing: [], behind: false };
    return { missing: this.ring.isEmpty() ? [] : [this.encoded()], behind: true };
  }

  merge(update: Buffer, from: PeerId): Buffer | undefined {
    if (update.length < GENESIS_BYTES) throw new GossipRejected('ringInvalid', `ring from ${from}: too short`);
    const genesis = update.subarray(0, GENESIS_BYTES).toString('hex');
    const entries = decodeRing(update.subarray(GENESIS_BYTES));
    if (isDecodeFailure(entries)) throw new GossipRejected('ringInvalid', `ring from ${from}: ${entries.detail ?? 'undecodable'}`);
    if (entries.length === 0) return undefined; // a peer still waiting for a ring has nothing for us
    if (this.genesis !== undefined && genesis !== this.genesis) return this.refuse(from, 0);
    const r = this.ring.merge(entries);
    if (!r.ok) {
      if (r.reason === 'conflict') return this.refuse(from, r.token);
      throw new GossipRejected('ringInvalid', `ring from ${from}: ${r.detail}`);
    }
    if (this.genesis === undefined) this.genesis = genesis; // a waiting peer adopts the cluster's ring
    if (!r.changed) return undefined;
    this.changed(false);
    return this.encoded();
  }

  private refuse(from: PeerId, token: number): never {
    if (this.conflict?.peer !== from) {
      this.log?.error({ peer: from, token }, `peer ${from} holds an address ring that conflicts with ours (both were claimed independently); its space is ignored: stop one of the two, remove its state (--state-dir) and launch it again naming a peer of the other`);
    }
    this.conflict = { peer: from, token, at: this.now() };
    throw new GossipRejected('ringConflict', `ring from ${from} conflicts with ours`);
  }

  private changed(local: boolean): void {
    this.cachedDigest = undefined;
    this.store.transaction(() => {
      this.store.put('ring', 'ring', [...this.ring.entries()]);
      if (this.genesis) this.store.put('ringGenesis', 'genesis', this.genesis);
    });
    if (local) this.onLocalChange?.(this.encoded());
    this.onChange?.();
  }
}
