/**
 * A replicated map of single-writer segments: each peer writes only its own
 * segment and bumps its version; everyone keeps, per writer, the highest
 * version seen. Merge is per-key max, so it is commutative, associative and
 * idempotent. Used for peers, endpoints and networks. Pure.
 *
 * Wire: digest = 8-byte hash of the rest, then per segment the writer (8 bytes)
 * and its version (u32), sorted by writer; update = JSON [{w, v, d}, …]. In a
 * quiet cluster digests match, and the hash shows it without reading the list.
 */
import { createHash } from 'node:crypto';
import type { PeerId } from '../peerId';
import { isPeerId } from '../peerId';
import { type ChannelId, type GossipChannel, GossipRejected } from './channel';

export interface Segment<T> {
  writer: PeerId;
  version: number;
  data: T;
}

export interface SegmentOptions<T> {
  /** validates (and may normalise) a segment's data from the wire; throws to reject */
  validate(data: unknown): T;
  /** the largest update a single datagram may carry; bigger sets are split */
  maxUpdateBytes?: number;
}

export class SegmentChannel<T> implements GossipChannel {
  private readonly segs = new Map<PeerId, Segment<T>>();
  private cachedDigest?: Buffer;
  onLocalChange?: (update: Buffer) => void;
  private readonly watchers: Array<(writers: PeerId[]) => void> = [];

  constructor(readonly id: ChannelId, private readonly self: PeerId, private readonly o: SegmentOptions<T>) {}

  /** fn is called with the writers whose segments changed (by publish or merge): for persistence and reactions */
  watch(fn: (writers: PeerId[]) => void): void {
    this.watchers.push(fn);
  }

  private changed(writers: PeerId[]): void {
    for (const w of this.watchers) w(writers);
  }

  get(writer: PeerId): Segment<T> | undefined {
    return this.segs.get(writer);
  }

  all(): Segment<T>[] {
    return [...this.segs.values()];
  }

  /** replaces our own segment and tells the engine */
  publish(data: T): void {
    const prev = this.segs.get(this.self);
    const seg = { writer: this.self, version: (prev?.version ?? 0) + 1, data };
    this.set(seg);
    this.changed([this.self]);
    this.onLocalChange?.(encode([seg]));
  }

  /**
   * Replaces another writer's segment (a peer removed for good: its last words are
   * written for it); the higher version wins everywhere. If that peer returns, its
   * own publish supersedes this.
   */
  overwrite(writer: PeerId, data: T): void {
    const seg = { writer, version: (this.segs.get(writer)?.version ?? 0) + 1, data };
    this.set(seg);
    this.changed([writer]);
    this.onLocalChange?.(encode([seg]));
  }

  /** restores a segment from the store (ours after a restart, to continue its version) */
  restore(seg: Segment<T>): void {
    const cur = this.segs.get(seg.writer);
    if (!cur || cur.version < seg.version) this.set(seg);
  }

  private set(seg: Segment<T>): void {
    this.segs.set(seg.writer, seg);
    this.cachedDigest = undefined;
  }

  /** drops a writer's segment (a peer removed for good); others may still gossip it back until they drop it too */
  forget(writer: PeerId): void {
    this.segs.delete(writer);
    this.cachedDigest = undefined;
  }

  digest(): Buffer {
    if (!this.cachedDigest) {
      const segs = [...this.segs.values()].sort((a, b) => (a.writer < b.writer ? -1 : 1));
      const buf = Buffer.alloc(8 + segs.length * 12);
      segs.forEach((s, i) => {
        buf.write(s.writer, 8 + i * 12, 8, 'hex');
        buf.writeUInt32BE(s.version >>> 0, 16 + i * 12);
      });
      createHash('sha1').update(buf.subarray(8)).digest().copy(buf, 0, 0, 8);
      this.cachedDigest = buf;
    }
    return this.cachedDigest;
  }

  compare(peerDigest: Buffer): { missing: Buffer[]; behind: boolean } {
    if ((peerDigest.length - 8) % 12 !== 0 || peerDigest.length < 8) throw new GossipRejected('badShape', 'bad digest length');
    if (peerDigest.subarray(0, 8).equals(this.digest().subarray(0, 8))) return { missing: [], behind: false };
    const theirs = new Map<PeerId, number>();
    let behind = false;
    for (let off = 8; off < peerDigest.length; off += 12) {
      const w = peerDigest.toString('hex', off, off + 8);
      const v = peerDigest.readUInt32BE(off + 8);
      theirs.set(w, v);
      if ((this.segs.get(w)?.version ?? 0) < v) behind = true;
    }
    const missing = [...this.segs.values()].filter((s) => (theirs.get(s.writer) ?? 0) < s.version);
    return { missing: this.chunk(missing), behind };
  }

  merge(update: Buffer, _from: PeerId): Buffer | undefined {
    const incoming = this.parseUpdate(update);
    const news: Segment<T>[] = [];
    for (const s of incoming) {
      const cur = this.segs.get(s.writer);
      if (cur && cur.version >= s.version) continue;
      // our own segment comes back newer only if we restarted without our store: take its version, republish ours over it
      if (s.writer === this.self && cur) {
        this.set({ ...cur, version: s.version + 1 });
        news.push(this.segs.get(this.self)!);
        continue;
      }
      this.set(s);
      news.push(s);
    }
    if (!news.length) return undefined;
    this.changed(news.map((s) => s.writer));
    return encode(news);
  }

  private parseUpdate(update: Buffer): Segment<T>[] {
    let raw: unknown;
    try {
      raw = JSON.parse(update.toString('utf8'));
    } catch {
      throw new GossipRejected('badJson', 'segment update is not JSON');
    }
    if (!Array.isArray(raw)) throw new GossipRejected('badShape', 'segment update is not a list');
    return raw.map((r: unknown) => {
      const o = r as { w?: unknown; v?: unknown; d?: unknown };
      if (!o || !isPeerId(o.w) || !Number.isSafeInteger(o.v) || (o.v as number) < 1) throw new GossipRejected('badShape', 'bad segment header');
      let data: T;
      try {
        data = this.o.validate(o.d);
      } catch (e) {
        throw new GossipRejected('badData', `bad segment from ${o.w}: ${(e as Error).message}`);
      }
      return { writer: o.w, version: o.v as number, data };
    });
  }

  private chunk(segs: Segment<T>[]): Buffer[] {
    const max = this.o.maxUpdateBytes ?? 60_000;
    const out: Buffer[] = [];
    let cur: Segment<T>[] = [];
    let size = 2;
    for (const s of segs) {
      const n = Buffer.byteLength(JSON.stringify({ w: s.writer, v: s.version, d: s.data })) + 1;
      if (cur.length && size + n > max) {
        out.push(encode(cur));
        cur = [];
        size = 2;
      }
      cur.push(s);
      size += n;
    }
    if (cur.length) out.push(encode(cur));
    return out;
  }
}

function encode<T>(segs: Segment<T>[]): Buffer {
  return Buffer.from(JSON.stringify(segs.map((s) => ({ w: s.writer, v: s.version, d: s.data }))));
}
