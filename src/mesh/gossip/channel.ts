/**
 * What a replicated state offers the gossip engine (the shape of weaveworks/mesh's
 * Gossiper): a small digest for anti-entropy, the parts a peer lacks given its
 * digest, and a merge that returns only what was new, so that news spreads and
 * repeats die out. Channels never see sockets or peers' addresses.
 */
import type { PeerId } from '../peerId';

/** append-only: the id travels on the wire */
export const ChannelId = { Peers: 1, Ring: 2, Endpoints: 3, Networks: 4, Topology: 5, Departed: 6 } as const;
export type ChannelId = (typeof ChannelId)[keyof typeof ChannelId];

export interface GossipChannel {
  readonly id: ChannelId;
  /** compact summary of the whole state */
  digest(): Buffer;
  /**
   * Compares a peer's digest with ours: the updates it lacks (each a
   * self-contained merge input), and whether it has something we lack.
   * Throws GossipRejected for a malformed digest.
   */
  compare(peerDigest: Buffer): { missing: Buffer[]; behind: boolean };
  /** merges an update; returns the part that was news (to pass on), or undefined. Throws GossipRejected for bad input. */
  merge(update: Buffer, from: PeerId): Buffer | undefined;
  /** set by the engine: call with an update whenever local state changes */
  onLocalChange?: (update: Buffer) => void;
}

/** A bad or conflicting update: counted and dropped by the engine, never applied. */
export class GossipRejected extends Error {
  override readonly name = 'GossipRejected';
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}
