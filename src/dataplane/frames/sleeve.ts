/**
 * The sleeve datagram payload. It rides inside the mesh's authenticated
 * envelope, so it carries no crypto of its own. Layout (big-endian):
 *
 *   version u8 (2) | hops u8 | origin peer id (8) | destination peer id (8) | vni u32
 *   then packed frames: repeated [u16 length][virtio-net header (10)][Ethernet frame]
 *
 * The packed region has the TAP reader's format (a TAP with virtio-net headers,
 * tap/vnet.ts), so a batch read from the TAP is sent, and a received one written,
 * without re-framing; a frame may be a GSO super-frame its header describes.
 * Version 1 was the same without the virtio-net headers; it is refused as
 * 'version'. hops is 0 from the origin and 1 after a relay; deciding what to do
 * with it is the caller's job.
 */
import { isPeerId, type PeerId } from '../../mesh/peerId';
import { MAX_PACKED_FRAME } from '../tap/packed';
import { VNET_HDR_BYTES } from '../tap/vnet';
import { ETH_HLEN } from './ethernet';

export const SLEEVE_VERSION = 2;
export const SLEEVE_HEADER_BYTES = 22;
/** the length prefix of each packed frame */
export const PACK_PREFIX_BYTES = 2;
/** a frame is a virtio-net header and at least an Ethernet header */
export const MIN_PACKED_FRAME = VNET_HDR_BYTES + ETH_HLEN;
export { MAX_PACKED_FRAME };

const HOPS = 1;
const ORIGIN = 2;
const DEST = 10;
const VNI = 18;

export interface SleeveHeader {
  hops: number;
  origin: PeerId;
  dest: PeerId;
  vni: number;
}

export type SleeveDropReason = 'short' | 'version' | 'badFrames';

export type DecodedSleeve =
  /** packed is a view into the datagram; frames is how many it holds (possibly 0) */
  | { ok: true; header: SleeveHeader; packed: Buffer; frames: number }
  | { ok: false; reason: SleeveDropReason };

function isU8(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}

/** The fixed 22-byte header. RangeError for values the layout cannot carry (caller bugs, not wire input). */
export function encodeSleeveHeader(h: SleeveHeader): Buffer {
  const out = Buffer.allocUnsafe(SLEEVE_HEADER_BYTES);
  writeSleeveHeader(out, h);
  return out;
}

/** encodeSleeveHeader into the first 22 bytes of `out` */
export function writeSleeveHeader(out: Buffer, h: SleeveHeader): void {
  if (!isU8(h.hops)) throw new RangeError(`hops out of range: ${h.hops}`);
  if (!isPeerId(h.origin) || !isPeerId(h.dest)) throw new RangeError(`not a peer id: ${JSON.stringify(isPeerId(h.origin) ? h.dest : h.origin)}`);
  if (!Number.isInteger(h.vni) || h.vni < 0 || h.vni > 0xffffffff) throw new RangeError(`vni out of range: ${h.vni}`);
  if (out.length < SLEEVE_HEADER_BYTES) throw new RangeError(`no room for a sleeve header: ${out.length} bytes`);
  out[0] = SLEEVE_VERSION;
  out[HOPS] = h.hops;
  out.write(h.origin, ORIGIN, 'hex');
  out.write(h.dest, DEST, 'hex');
  out.writeUInt32BE(h.vni, VNI);
}

/**
 * Header + packed frames, in one copy. The packed region is not checked here
 * (it comes from the TAP reader or a PackBuilder); the receiver's decode is
 * what guards against bad lengths.
 */
export function encodeSleeve(h: SleeveHeader, packed: Buffer): Buffer {
  return Buffer.concat([encodeSleeveHeader(h), packed], SLEEVE_HEADER_BYTES + packed.length);
}

/**
 * How many frames a packed region holds, or -1 unless every length prefix is
 * complete, every frame is MIN_PACKED_FRAME bytes or more and ends inside the buffer.
 */
export function countPacked(packed: Buffer): number {
  let off = 0;
  let n = 0;
  while (off < packed.length) {
    if (off + PACK_PREFIX_BYTES > packed.length) return -1;
    const len = packed.readUInt16BE(off);
    off += PACK_PREFIX_BYTES + len;
    if (len < MIN_PACKED_FRAME || off > packed.length) return -1;
    n++;
  }
  return n;
}

/** Checks the version before the length, so a peer speaking a later version is reported as such. */
export function decodeSleeve(buf: Buffer): DecodedSleeve {
  if (buf.length === 0) return { ok: false, reason: 'short' };
  if (buf[0] !== SLEEVE_VERSION) return { ok: false, reason: 'version' };
  if (buf.length < SLEEVE_HEADER_BYTES) return { ok: false, reason: 'short' };
  const packed = buf.subarray(SLEEVE_HEADER_BYTES);
  const frames = countPacked(packed);
  if (frames < 0) return { ok: false, reason: 'badFrames' };
  return {
    ok: true,
    header: {
      hops: buf[HOPS]!,
      origin: buf.toString('hex', ORIGIN, DEST),
      dest: buf.toString('hex', DEST, VNI),
      vni: buf.readUInt32BE(VNI),
    },
    packed,
    frames,
  };
}

/** A copy of a datagram with its hop count re-stamped (the original may still be referenced by the receive path). */
export function withHops(buf: Buffer, hops: number): Buffer {
  if (!isU8(hops)) throw new RangeError(`hops out of range: ${hops}`);
  if (buf.length < SLEEVE_HEADER_BYTES) throw new RangeError(`not a sleeve datagram: ${buf.length} bytes`);
  const out = Buffer.from(buf);
  out[HOPS] = hops;
  return out;
}

/**
 * Calls fn with a view (no copy) of each frame, in order; returns how many.
 * Meant for regions decodeSleeve validated or the TAP reader produced; on
 * anything else it stops at the first incomplete entry and never reads past the end.
 */
export function forEachFrame(packed: Buffer, fn: (frame: Buffer) => void): number {
  let off = 0;
  let n = 0;
  while (off + PACK_PREFIX_BYTES <= packed.length) {
    const start = off + PACK_PREFIX_BYTES;
    const end = start + packed.readUInt16BE(off);
    if (end > packed.length) break;
    fn(packed.subarray(start, end));
    n++;
    off = end;
  }
  return n;
}

/**
 * Collects frames for one datagram up to `budget` bytes of packed output
 * (prefixes included). It holds references, and takeDatagramParts hands them on
 * as views: the frames' memory must not be reused until the datagram is sent (a
 * TAP batch is its own memory, never reused). A frame may be given in two parts (a piece of a split
 * GSO frame: its own headers, and a view of the original's payload).
 */
export class PackBuilder {
  /** each frame as one or two parts: frames[i] then, when tails[i] is set, tails[i] */
  private frames: Buffer[] = [];
  private tails: Array<Buffer | undefined> = [];
  private size = 0;

  constructor(readonly budget: number) {
    if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`budget out of range: ${budget}`);
  }

  /** frames held */
  get count(): number {
    return this.frames.length;
  }

  /** packed bytes so far, prefixes included: the datagram's length without its header */
  get bytes(): number {
    return this.size;
  }

  /** packed bytes a frame of `length` bytes would still fit in */
  get room(): number {
    return this.budget - this.size - PACK_PREFIX_BYTES;
  }

  /**
   * false when the frame (`frame` followed by `tail`, if given) would exceed the
   * budget, and for a frame the packed format cannot carry (under 24 or over
   * 65535 bytes): packing it would make the receiver drop the whole datagram.
   */
  add(frame: Buffer, tail?: Buffer): boolean {
    const length = frame.length + (tail ? tail.length : 0);
    if (length < MIN_PACKED_FRAME || length > MAX_PACKED_FRAME) return false;
    const next = this.size + PACK_PREFIX_BYTES + length;
    if (next > this.budget) return false;
    this.frames.push(frame);
    this.tails.push(tail);
    this.size = next;
    return true;
  }

  /**
   * The datagram (encodeSleeve(h, the frames packed)) as parts, without copying the frames: the
   * header and each length prefix (one small buffer), and views of the frames themselves. The
   * views stay valid as long as the frames' buffers are not reused (a TAP batch is the batch's
   * own memory). The builder is empty afterwards and can be reused.
   */
  takeDatagramParts(h: SleeveHeader): Buffer[] {
    const n = this.frames.length;
    // header and every prefix in one allocation (small: Buffer's pool), then views of it between the frames
    const small = Buffer.allocUnsafe(SLEEVE_HEADER_BYTES + n * PACK_PREFIX_BYTES);
    writeSleeveHeader(small, h);
    const parts: Buffer[] = [];
    let at = SLEEVE_HEADER_BYTES;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const f = this.frames[i]!;
      const t = this.tails[i];
      small.writeUInt16BE(f.length + (t ? t.length : 0), at);
      at += PACK_PREFIX_BYTES;
      parts.push(small.subarray(start, at), f);
      if (t) parts.push(t);
      start = at;
    }
    if (n === 0) parts.push(small);
    this.frames = [];
    this.tails = [];
    this.size = 0;
    return parts;
  }
}
