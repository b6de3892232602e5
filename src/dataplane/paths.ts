/**
 * How this host reaches each peer, from what it sees itself (who answers, which
 * fast-path probes come back) and what its neighbours report (whom each of them
 * hears directly, gossiped on the topology channel). Pure.
 *
 * - fastdp: heard directly, and our VXLAN probes reach it (kernel path both ends)
 * - sleeve: heard directly, but VXLAN does not get through (or is off): weft carries frames
 * - relay: not heard directly, but a peer we hear does hear it: frames go through that neighbour
 * - unreachable: none of the above
 * One relay hop, as in Weave's mesh: a frame is never relayed twice.
 */
import type { PeerId } from '../mesh/peerId';
import type { Path } from './plan';

export interface PathInput {
  peers: readonly PeerId[];
  /** peers heard directly and recently */
  direct: ReadonlySet<PeerId>;
  /** this host takes part in the fast path at all */
  fastdp: boolean;
  /** the peer has the fast path and our probes to it came back recently */
  fastdpWorks(peer: PeerId): boolean;
  /** whom a peer hears directly, as it last gossiped */
  neighboursOf(peer: PeerId): ReadonlySet<PeerId> | undefined;
}

export function computePaths(i: PathInput): Map<PeerId, Path> {
  const out = new Map<PeerId, Path>();
  const relays = [...i.direct].sort();
  for (const p of i.peers) {
    if (i.direct.has(p)) {
      out.set(p, { mode: i.fastdp && i.fastdpWorks(p) ? 'fastdp' : 'sleeve' });
      continue;
    }
    const via = relays.find((r) => r !== p && i.neighboursOf(r)?.has(p) === true);
    out.set(p, via ? { mode: 'relay', via } : { mode: 'unreachable' });
  }
  return out;
}

export function samePaths(a: ReadonlyMap<PeerId, Path>, b: ReadonlyMap<PeerId, Path>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.mode !== v.mode || w.via !== v.via) return false;
  }
  return true;
}

/** the peer a frame for `dest` is handed to: the peer itself, its relay, or nobody */
export function nextHop(path: Path | undefined, dest: PeerId): PeerId | undefined {
  if (!path) return undefined;
  if (path.mode === 'relay') return path.via;
  return path.mode === 'unreachable' ? undefined : dest;
}
