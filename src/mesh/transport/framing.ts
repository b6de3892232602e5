/**
 * Self-delimiting records for the mesh's UDP socket, so it can use GSO and GRO.
 *
 * Why: a 64 KiB datagram is IP-fragmented by the sender's kernel, which costs
 * most of its CPU. With UDP_SEGMENT = S the kernel instead cuts each send into
 * S-byte datagrams, and with UDP_GRO the receiver's kernel may hand over one
 * read holding several consecutive datagrams of a flow, concatenated, with no
 * word on where they split. So every datagram must say where it ends, and a
 * message bigger than one datagram travels as chunks that each say which
 * message and which part they are.
 *
 * Wire format. A datagram, and a read (which may hold several), is a sequence
 * of records; a record is an 8-byte header and its body:
 *
 *   0     MAGIC 0xA7     framing version; anything else is not ours
 *   1     count  u8      chunks in the message, 1..255 (1: the whole message)
 *   2..3  length u16 BE  body bytes
 *   4..5  msgId  u16 BE  the sender's message counter (wraps; 0 allowed)
 *   6     index  u8      0..count-1
 *   7     reserved       0 on send, ignored on receive
 *
 * With GSO every chunk but a message's last is exactly S bytes and send
 * buffers hold whole records only, so the kernel's S-byte cuts always fall on
 * record boundaries (only a send's last segment may be shorter, and only the
 * message's last chunk is). Chunks carry no offset: the receiver orders them
 * by index and concatenates.
 *
 * Pure codec: no I/O, no timers (time is passed in).
 */

import { byteLength, type Bytes, BytesReader } from './bytes';

export const MAGIC = 0xa7;
export const HEADER_BYTES = 8;
export const MAX_CHUNKS = 255;
/** the largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP) */
export const MAX_UDP_PAYLOAD = 65507;
/** the kernel's UDP_MAX_SEGMENTS on older kernels (newer ones allow 128) */
export const MAX_GSO_SEGMENTS = 64;

/** the largest message layout() accepts without chunking (one datagram, IP-fragmented if need be) */
export const MAX_WHOLE = MAX_UDP_PAYLOAD - HEADER_BYTES;

function writeHeader(b: Buffer, at: number, count: number, length: number, msgId: number, index: number): void {
  b[at] = MAGIC;
  b[at + 1] = count;
  b.writeUInt16BE(length, at + 2);
  b.writeUInt16BE(msgId, at + 4);
  b[at + 6] = index;
  b[at + 7] = 0;
}

/**
 * Where layout() gets its send buffers: a buffer of exactly `size` bytes, contents unspecified (every
 * byte is written). A transport's sendBuffer() recycles them; the default allocates.
 */
export type SendAllocator = (size: number) => Buffer;

const allocate: SendAllocator = (size) => Buffer.allocUnsafe(size);

/** one buffer holding the whole message as one record (count 1) */
function whole(src: BytesReader, length: number, msgId: number, alloc: SendAllocator): Buffer[] {
  const b = alloc(HEADER_BYTES + length);
  writeHeader(b, 0, 1, length, msgId, 0);
  src.copyTo(b, HEADER_BYTES, length);
  return [b];
}

/** full chunks in one GSO send: a send is one UDP payload, and the kernel refuses more segments than UDP_MAX_SEGMENTS */
const chunksPerSend = (segment: number) => Math.min(Math.floor(MAX_UDP_PAYLOAD / segment), MAX_GSO_SEGMENTS);

/**
 * The most bytes a GSO send may hold and still reach the other socket in one piece: the
 * packet, with its IP, UDP and Ethernet headers (and room for a VLAN tag), must stay under the
 * device's gso_max_size (64 KiB), or Linux (6.8 on) segments it in software on the way out,
 * and GRO no longer hands the message back in one read. Seen on loopback: a 65507-byte send
 * arrives as 45 datagrams, a 65460-byte one as one read.
 */
export const MAX_GSO_SEND = 0xffff - 20 - 8 - 14 - 4;

/**
 * Body bytes a message's short last chunk may have and still join a send that already
 * holds chunksPerSend full chunks (0: it cannot). GSO lets a send's last segment be
 * shorter, and the last chunk is the only short one, so it can fill what a whole
 * segment would not: for 1472 that is 713 bytes more in one send, enough for a
 * sleeve datagram holding a whole 46-segment TCP super-frame (MSS 1398), which
 * otherwise is cut in two, each piece costing a datagram and a TAP write.
 */
function tailRoom(segment: number): number {
  const full = chunksPerSend(segment);
  if (full >= MAX_GSO_SEGMENTS) return 0;
  return Math.max(0, MAX_GSO_SEND - full * segment - HEADER_BYTES);
}

/**
 * The largest message layout() puts in one send buffer: what GRO can hand the
 * receiver back in one read, so it needs no reassembly across reads.
 */
export function singleSendCapacity(segment?: number): number {
  if (segment === undefined) return MAX_WHOLE;
  return Math.max(segment - HEADER_BYTES, chunksPerSend(segment) * (segment - HEADER_BYTES) + tailRoom(segment));
}

/**
 * The buffers to send for one message (given as one buffer, or as parts read back to back). Without segment
 * (no GSO): one buffer, one record with count 1 (throws RangeError if data.length > MAX_WHOLE). With segment = S (the GSO segment size, e.g. 1472):
 * if HEADER_BYTES + data.length <= S, one buffer with one record (count 1); otherwise the message is cut into
 * chunks of body S - HEADER_BYTES (the last chunk shorter), each chunk a record of exactly S bytes except the
 * last, and the chunks are grouped into send buffers of at most min(floor(MAX_UDP_PAYLOAD / S), MAX_GSO_SEGMENTS)
 * full chunks each, in order; a short last chunk joins the send before it when that send stays within
 * MAX_GSO_SEND bytes and MAX_GSO_SEGMENTS records (GSO allows a shorter last segment). Throws RangeError when
 * the message would need more than MAX_CHUNKS chunks, when S is not an integer in HEADER_BYTES+1 ..
 * MAX_UDP_PAYLOAD, or when msgId is not an integer in 0..65535 (all checked before anything is allocated).
 * Every send buffer comes from alloc, each at most MAX_UDP_PAYLOAD bytes.
 */
export function layout(data: Bytes, msgId: number, segment?: number, alloc: SendAllocator = allocate): Buffer[] {
  if (!Number.isInteger(msgId) || msgId < 0 || msgId > 0xffff) throw new RangeError(`msgId ${msgId} is not in 0..65535`);
  const length = byteLength(data);
  // the message's bytes are read once, in order, straight from its parts into the records
  const src = new BytesReader(data);
  if (segment === undefined) {
    if (length > MAX_WHOLE) throw new RangeError(`message of ${length} bytes exceeds ${MAX_WHOLE} without segmentation`);
    return whole(src, length, msgId, alloc);
  }
  if (!Number.isInteger(segment) || segment <= HEADER_BYTES || segment > MAX_UDP_PAYLOAD) {
    throw new RangeError(`segment ${segment} is not an integer in ${HEADER_BYTES + 1}..${MAX_UDP_PAYLOAD}`);
  }
  if (HEADER_BYTES + length <= segment) return whole(src, length, msgId, alloc);

  const body = segment - HEADER_BYTES;
  const count = Math.ceil(length / body);
  if (count > MAX_CHUNKS) {
    throw new RangeError(`message of ${length} bytes needs ${count} chunks of ${body} (at most ${MAX_CHUNKS})`);
  }
  const perSend = chunksPerSend(segment);
  // the short last chunk rides with the full ones before it when the send has room for it
  const lastBody = length - (count - 1) * body;
  const tailJoins = lastBody < body && lastBody <= tailRoom(segment);
  const sends: Buffer[] = [];
  for (let first = 0, end = 0; first < count; first = end) {
    end = Math.min(first + perSend, count);
    if (end === count - 1 && tailJoins) end = count;
    const from = first * body;
    const to = Math.min(end * body, length);
    const b = alloc((end - first) * HEADER_BYTES + (to - from));
    let at = 0;
    for (let i = first; i < end; i++) {
      const s = i * body;
      const e = Math.min(s + body, length);
      writeHeader(b, at, count, e - s, msgId, i);
      src.copyTo(b, at + HEADER_BYTES, e - s);
      at += HEADER_BYTES + (e - s);
    }
    sends.push(b);
  }
  return sends;
}

export interface FrameRecord {
  msgId: number;
  index: number;
  count: number;
  /** a view into the read, not a copy */
  body: Buffer;
}

/**
 * Splits one read into records. Stops at the first malformed record (short header, wrong magic, count 0,
 * index >= count, body running past the end) and reports it; the records before it are still returned.
 * An empty read is malformed too: every datagram weft sends holds at least one record.
 */
export function parseRecords(read: Buffer): { records: FrameRecord[]; error?: 'badFrame' } {
  const records: FrameRecord[] = [];
  const n = read.length;
  if (n === 0) return { records, error: 'badFrame' };
  let at = 0;
  while (at < n) {
    if (n - at < HEADER_BYTES || read[at] !== MAGIC) return { records, error: 'badFrame' };
    const count = read[at + 1];
    const index = read[at + 6];
    if (count === 0 || index >= count) return { records, error: 'badFrame' };
    const start = at + HEADER_BYTES;
    const end = start + read.readUInt16BE(at + 2);
    if (end > n) return { records, error: 'badFrame' };
    records.push({ msgId: read.readUInt16BE(at + 4), index, count, body: read.subarray(start, end) });
    at = end;
  }
  return { records };
}

/**
 * When `read` holds exactly one chunked message, all its chunks in index order and
 * nothing else (what GRO hands back of one GSO send), the message, joined in place:
 * the bodies are moved over the record headers, so the result is a view of `read`'s
 * own memory and `read` is overwritten; the caller must own it (Node's dgram gives
 * every read a buffer of its own). Otherwise undefined and `read` untouched, for
 * parseRecords and the Reassembler. One pass over the headers and one memmove per
 * chunk: no record object or view per chunk, and no second 64 KiB buffer to allocate
 * (each one is external memory V8's major GC has to chase).
 */
export function joinWholeInPlace(read: Buffer): Buffer | undefined {
  const n = read.length;
  if (n < HEADER_BYTES || read[0] !== MAGIC) return undefined;
  const count = read[1];
  if (count < 2 || read[6] !== 0) return undefined;
  const msgId = (read[4] << 8) | read[5];
  // check every header before moving any byte
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (n - at < HEADER_BYTES || read[at] !== MAGIC || read[at + 1] !== count || read[at + 6] !== i) return undefined;
    if (((read[at + 4] << 8) | read[at + 5]) !== msgId) return undefined;
    at += HEADER_BYTES + ((read[at + 2] << 8) | read[at + 3]);
    if (at > n) return undefined;
  }
  if (at !== n) return undefined;
  let to = 0;
  at = 0;
  for (let i = 0; i < count; i++) {
    const len = (read[at + 2] << 8) | read[at + 3];
    read.copyWithin(to, at + HEADER_BYTES, at + HEADER_BYTES + len);
    to += len;
    at += HEADER_BYTES + len;
  }
  return read.subarray(0, to);
}

export type ReassemblyDrop = 'duplicateChunk' | 'inconsistentChunk' | 'reassemblyTimeout' | 'reassemblyOverflow';

export interface ReassemblerOptions {
  /** a message whose first chunk came longer ago than this is dropped (counted reassemblyTimeout) */
  timeoutMs: number;
  /** most messages in reassembly at once, across all senders; the oldest goes first (reassemblyOverflow) */
  maxPending: number;
  /** most body bytes held in reassembly at once; the oldest messages go first (reassemblyOverflow) */
  maxBytes: number;
  onDrop: (reason: ReassemblyDrop) => void;
}

/** a message in reassembly */
interface Held {
  readonly key: string;
  readonly count: number;
  /** when its first chunk came */
  readonly since: number;
  /** by index; views into the reads they came in */
  readonly chunks: (Buffer | undefined)[];
  have: number;
  bytes: number;
}

/**
 * Puts chunked messages back together, per (sender, msgId), within bounds on
 * time, message count and bytes, so no sender can make it hold more.
 *
 * Held chunks are views into the caller's reads (no copy until the message is
 * complete), so the caller must not reuse a read's buffer (Node's dgram gives
 * each read its own), and a held chunk keeps its read alive until its message
 * completes or is dropped.
 *
 * Messages are kept in a Map in insertion order, which is first-chunk order as
 * long as `now` does not go backwards: expiry and overflow evict from the front.
 */
export class Reassembler {
  private readonly held = new Map<string, Held>();
  private bytes = 0;

  constructor(private readonly o: ReassemblerOptions) {
    if (!(o.timeoutMs >= 0)) throw new RangeError(`timeoutMs ${o.timeoutMs} must be at least 0`);
    if (!(o.maxPending >= 1)) throw new RangeError(`maxPending ${o.maxPending} must be at least 1`);
    if (!(o.maxBytes >= 0)) throw new RangeError(`maxBytes ${o.maxBytes} must be at least 0`);
  }

  /**
   * One record from `from` (an opaque sender key, e.g. "10.0.0.1:6783") at time `now` (ms).
   * count 1: returns the body at once (no copy; a held message with the same msgId is left alone). Otherwise
   * keeps it, keyed by (from, msgId); returns the whole message (chunks concatenated in index order, one copy)
   * once every index 0..count-1 is there, and forgets it. A chunk whose index is already held: ignored,
   * duplicateChunk. A chunk whose count differs from the held message's count: the held message is dropped
   * (inconsistentChunk) and reassembly restarts with this chunk. Expired messages are dropped on every add.
   */
  add(from: string, r: FrameRecord, now: number): Buffer | undefined {
    if (r.count === 1) return r.body;
    this.expire(now);
    // msgId first: it is all digits, so the first '/' ends it whatever `from` holds
    const key = `${r.msgId}/${from}`;
    let m = this.held.get(key);
    if (m) {
      if (now - m.since > this.o.timeoutMs) {
        // only when `now` went backwards earlier, so expire() stopped short of it
        this.drop(m, 'reassemblyTimeout');
        m = undefined;
      } else if (m.count !== r.count) {
        this.drop(m, 'inconsistentChunk');
        m = undefined;
      } else if (m.chunks[r.index] !== undefined) {
        this.o.onDrop('duplicateChunk');
        return undefined;
      }
    }
    if (!m) {
      m = { key, count: r.count, since: now, chunks: new Array<Buffer | undefined>(r.count), have: 0, bytes: 0 };
      this.held.set(key, m);
    }
    m.chunks[r.index] = r.body;
    m.have++;
    m.bytes += r.body.length;
    this.bytes += r.body.length;
    // completion first: a chunk that finishes a message must not evict another
    if (m.have === m.count) return this.complete(m);
    this.enforceBounds();
    return undefined;
  }

  /** drops messages older than timeoutMs; add() does this itself, call it too when reads stop coming */
  expire(now: number): void {
    for (const m of this.held.values()) {
      if (now - m.since <= this.o.timeoutMs) break;
      this.drop(m, 'reassemblyTimeout');
    }
  }

  /** messages in reassembly now, and their body bytes */
  get pending(): { messages: number; bytes: number } {
    return { messages: this.held.size, bytes: this.bytes };
  }

  private complete(m: Held): Buffer {
    this.forget(m);
    const out = Buffer.allocUnsafe(m.bytes);
    let at = 0;
    for (const c of m.chunks as Buffer[]) at += c.copy(out, at);
    return out;
  }

  private enforceBounds(): void {
    while (this.held.size > this.o.maxPending || this.bytes > this.o.maxBytes) {
      const oldest = this.held.values().next();
      if (oldest.done) return;
      this.drop(oldest.value, 'reassemblyOverflow');
    }
  }

  private drop(m: Held, reason: ReassemblyDrop): void {
    this.forget(m);
    this.o.onDrop(reason);
  }

  private forget(m: Held): void {
    this.held.delete(m.key);
    this.bytes -= m.bytes;
  }
}
