/**
 * The packed batch format the TAP device reads and writes: frames back to back,
 * each as [u16 big-endian length][frame bytes]. One Buffer per batch keeps the
 * native boundary crossing (and the allocations) per batch rather than per frame.
 *
 * A zero length is malformed, both ways: no Ethernet frame is empty, and a zero
 * length is what a reader that lost its place (or zero padding) would see, so
 * refusing it catches framing bugs early instead of turning them into empty frames.
 * The native write() refuses the same batches, before writing any frame.
 */
import { TapError } from './errors';

/** the largest frame a u16 length can carry */
export const MAX_PACKED_FRAME = 0xffff;

/** frames → one packed batch (copies); throws TapError EFRAMESIZE for a 0 or >65535 byte frame */
export function packFrames(frames: readonly Buffer[]): Buffer {
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const n = frames[i].length;
    if (n === 0 || n > MAX_PACKED_FRAME) {
      throw new TapError('EFRAMESIZE', `packFrames: frame ${i} is ${n} bytes; a packed frame is 1..${MAX_PACKED_FRAME} bytes`);
    }
    total += 2 + n;
  }
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const f of frames) {
    out.writeUInt16BE(f.length, off);
    f.copy(out, off + 2);
    off += 2 + f.length;
  }
  return out;
}

/**
 * A packed batch → its frames, as views into `packed` (no copies: copy a frame you
 * keep beyond the batch if the buffer is reused). Throws TapError EMALFORMED when a
 * length runs past the end, a length is zero, or a lone byte is left over.
 */
export function unpackFrames(packed: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let off = 0;
  while (off < packed.length) {
    const rest = packed.length - off;
    if (rest < 2) {
      throw new TapError('EMALFORMED', `malformed packed batch: ${rest} stray byte at offset ${off} after frame ${frames.length - 1}`);
    }
    const n = packed.readUInt16BE(off);
    if (n === 0) throw new TapError('EMALFORMED', `malformed packed batch: frame ${frames.length} at offset ${off} has length 0`);
    if (n > rest - 2) {
      throw new TapError(
        'EMALFORMED',
        `malformed packed batch: frame ${frames.length} at offset ${off} claims ${n} bytes, only ${rest - 2} remain`,
      );
    }
    frames.push(packed.subarray(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return frames;
}
