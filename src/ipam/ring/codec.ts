/**
 * Binary form of a ring, for gossip and the store. Layout (big-endian):
 *
 *   u8  format version (1)
 *   u32 number of distinct owners N, then N × 8 bytes (peer id as raw bytes)
 *   u32 number of entries M, then M × (u32 token, u32 version, owner index)
 *
 * The owner index is 1, 2 or 4 bytes, the narrowest that fits N. Owners are
 * listed in order of first use, so one ring has exactly one encoding (equal
 * rings ↔ equal bytes, handy for digests); the decoder insists on that.
 * decodeRing never throws: garbage yields a DecodeFailure.
 */
import { MAX_ENTRIES, RingError, type RingEntry } from './types';
import { validateEntries } from './validate';

export const RING_FORMAT = 1;
const ID_BYTES = 8;

export interface DecodeFailure {
  readonly ok: false;
  readonly reason: 'decode';
  readonly detail: string;
}

export function isDecodeFailure(x: RingEntry[] | DecodeFailure): x is DecodeFailure {
  return !Array.isArray(x);
}

function indexWidth(owners: number): 1 | 2 | 4 {
  return owners <= 0x100 ? 1 : owners <= 0x10000 ? 2 : 4;
}

/** Upper bound of an encoded ring's size; anything longer is refused unread. */
export const MAX_ENCODED_BYTES = 1 + 4 + MAX_ENTRIES * ID_BYTES + 4 + MAX_ENTRIES * (8 + 4);

/** Throws RingError('Invalid') for entries that are not a valid ring (a bug in the caller). */
export function encodeRing(entries: readonly RingEntry[]): Buffer {
  const problem = validateEntries(entries);
  if (problem !== undefined) throw new RingError('Invalid', problem);
  const index = new Map<string, number>();
  for (const e of entries) if (!index.has(e.owner)) index.set(e.owner, index.size);
  const width = indexWidth(index.size);
  const buf = Buffer.alloc(1 + 4 + index.size * ID_BYTES + 4 + entries.length * (8 + width));
  let off = buf.writeUInt8(RING_FORMAT, 0);
  off = buf.writeUInt32BE(index.size, off);
  for (const owner of index.keys()) off += buf.write(owner, off, ID_BYTES, 'hex');
  off = buf.writeUInt32BE(entries.length, off);
  for (const e of entries) {
    off = buf.writeUInt32BE(e.token, off);
    off = buf.writeUInt32BE(e.version, off);
    off = buf.writeUIntBE(index.get(e.owner) as number, off, width);
  }
  return buf;
}

function fail(detail: string): DecodeFailure {
  return { ok: false, reason: 'decode', detail };
}

export function decodeRing(buf: Buffer): RingEntry[] | DecodeFailure {
  if (!Buffer.isBuffer(buf)) return fail('not a buffer');
  if (buf.length > MAX_ENCODED_BYTES) return fail(`${buf.length} bytes is too long`);
  if (buf.length < 9) return fail('truncated header');
  if (buf[0] !== RING_FORMAT) return fail(`unknown ring format ${String(buf[0])}`);
  const nOwners = buf.readUInt32BE(1);
  if (nOwners > MAX_ENTRIES) return fail(`${nOwners} owners`);
  let off = 5;
  if (buf.length < off + nOwners * ID_BYTES + 4) return fail('truncated owner table');
  const owners: string[] = [];
  for (let i = 0; i < nOwners; i++, off += ID_BYTES) owners.push(buf.toString('hex', off, off + ID_BYTES));
  if (new Set(owners).size !== nOwners) return fail('repeated owner in the table');
  const nEntries = buf.readUInt32BE(off);
  off += 4;
  if (nEntries > MAX_ENTRIES) return fail(`${nEntries} entries`);
  const width = indexWidth(nOwners);
  if (buf.length !== off + nEntries * (8 + width)) return fail('length does not match the entry count');
  const entries: RingEntry[] = [];
  let seen = 0; // owners must appear in order of first use
  for (let i = 0; i < nEntries; i++) {
    const token = buf.readUInt32BE(off);
    const version = buf.readUInt32BE(off + 4);
    const k = buf.readUIntBE(off + 8, width);
    off += 8 + width;
    if (k > seen || k >= nOwners) return fail(`entry ${i}: owner index ${k} out of order`);
    if (k === seen) seen++;
    entries.push({ token, owner: owners[k] as string, version });
  }
  if (seen !== nOwners) return fail('unused owners in the table');
  const problem = validateEntries(entries);
  return problem === undefined ? entries : fail(problem);
}
