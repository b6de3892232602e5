/** What the gossip engine and RPC need from the router: send to a peer, and who is alive. */
import type { PeerId } from './peerId';

export { seededRandom } from '../util/random';

export interface Link {
  readonly self: PeerId;
  send(to: PeerId, type: number, payload: Buffer): void;
  /** peers currently answering, not including self */
  alivePeers(): PeerId[];
  /** those and the suspect ones (silent for a while, not yet dead), not including self */
  reachablePeers(): PeerId[];
}

/** up to k distinct random elements */
export function pick<T>(items: readonly T[], k: number, random: () => number): T[] {
  if (items.length <= k) return [...items];
  const copy = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}
