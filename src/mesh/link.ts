/** What the gossip engine and RPC need from the router: send to a peer, and who is alive. */
import type { PeerId } from './peerId';

export interface Link {
  readonly self: PeerId;
  send(to: PeerId, type: number, payload: Buffer): void;
  /** peers currently answering, not including self */
  alivePeers(): PeerId[];
}

/** small seeded PRNG (mulberry32): repeatable choices in simulations */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
