import {
  FrameRecord,
  HEADER_BYTES,
  MAGIC,
  MAX_CHUNKS,
  MAX_GSO_SEGMENTS,
  MAX_GSO_SEND,
  MAX_UDP_PAYLOAD,
  MAX_WHOLE,
  Reassembler,
  ReassemblerOptions,
  ReassemblyDrop,
  joinWholeInPlace,
  layout,
  parseRecords,
  singleSendCapacity,
} from '../../../../src/mesh/transport/framing';
import { randomBytesFrom, rng } from '../helpers/random';

const S = 1472;

/** a Reassembler that records its drops */
function reassembler(o: Partial<ReassemblerOptions> = {}): { r: Reassembler; drops: ReassemblyDrop[] } {
  const drops: ReassemblyDrop[] = [];
  const r = new Reassembler({ timeoutMs: 1000, maxPending: 64, maxBytes: 1 << 24, onDrop: (d) => drops.push(d), ...o });
  return { r, drops };
}

/** records of a read, failing the test on a malformed one */
function records(read: Buffer): FrameRecord[] {
  const p = parseRecords(read);
  expect(p.error).toBeUndefined();
  return p.records;
}

/** a chunk record built by hand */
function rec(msgId: number, index: number, count: number, body: Buffer | string): FrameRecord {
  return { msgId, index, count, body: typeof body === 'string' ? Buffer.from(body) : body };
}

/** one raw record: header fields as given, body as given */
function raw(count: number, index: number, msgId: number, body: Buffer, magic = MAGIC, reserved = 0): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + body.length);
  b[0] = magic;
  b[1] = count;
  b.writeUInt16BE(body.length, 2);
  b.writeUInt16BE(msgId, 4);
  b[6] = index;
  b[7] = reserved;
  body.copy(b, HEADER_BYTES);
  return b;
}

/** what the kernel's GSO does to one send: S-byte datagrams, the last maybe shorter */
function gsoSplit(send: Buffer, segment: number | undefined): Buffer[] {
  if (segment === undefined) return [send];
  const out: Buffer[] = [];
  for (let at = 0; at < send.length; at += segment) out.push(send.subarray(at, Math.min(at + segment, send.length)));
  return out;
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** the largest message layout accepts for a segment size */
function maxMessage(segment: number | undefined): number {
  return segment === undefined ? MAX_WHOLE : MAX_CHUNKS * (segment - HEADER_BYTES);
}

/**
 * Checks everything layout promises for one message and returns it reassembled:
 * send sizes, records per send, every record but the last exactly `segment` bytes,
 * GSO cuts landing on record boundaries, consecutive indexes, header fields.
 */
function checkLayout(data: Buffer, msgId: number, segment: number | undefined): Buffer {
  const sends = layout(data, msgId, segment);
  const all: FrameRecord[] = [];
  const perSend = segment === undefined ? 1 : Math.min(Math.floor(MAX_UDP_PAYLOAD / segment), MAX_GSO_SEGMENTS);
  for (const send of sends) {
    expect(send.length).toBeLessThanOrEqual(MAX_UDP_PAYLOAD);
    const rs = records(send);
    expect(rs.length).toBeGreaterThanOrEqual(1);
    expect(rs.length).toBeLessThanOrEqual(MAX_GSO_SEGMENTS);
    // perSend full chunks, and the message's short last chunk may ride along in the last send
    const lastIsShort = segment !== undefined && HEADER_BYTES + rs[rs.length - 1].body.length < segment;
    expect(rs.length).toBeLessThanOrEqual(send === sends[sends.length - 1] && lastIsShort ? perSend + 1 : perSend);
    // each GSO segment is exactly one whole record
    const segments = gsoSplit(send, segment);
    expect(segments.length).toBe(rs.length);
    for (const seg of segments) expect(records(seg)).toHaveLength(1);
    // reserved byte is 0 in every header
    let at = 0;
    for (const r of rs) {
      expect(send[at]).toBe(MAGIC);
      expect(send[at + 7]).toBe(0);
      at += HEADER_BYTES + r.body.length;
    }
    all.push(...rs);
  }
  const count = all.length;
  expect(count).toBeLessThanOrEqual(MAX_CHUNKS);
  all.forEach((r, i) => {
    expect(r.index).toBe(i);
    expect(r.count).toBe(count);
    expect(r.msgId).toBe(msgId);
    if (count > 1 && i < count - 1) expect(HEADER_BYTES + r.body.length).toBe(segment);
  });
  if (count > 1) {
    // every send but the last is full
    sends.slice(0, -1).forEach((s) => expect(s.length).toBe(perSend * segment!));
    expect(all[count - 1].body.length).toBeGreaterThan(0);
    expect(all[count - 1].body.length).toBeLessThanOrEqual(segment! - HEADER_BYTES);
  }
  const { r, drops } = reassembler();
  const out = all.map((x) => r.add('peer', x, 0));
  expect(out.slice(0, -1).every((x) => x === undefined)).toBe(true);
  expect(drops).toEqual([]);
  expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  return out[count - 1]!;
}

describe('layout', () => {
  const random = rng(1);

  test('without segment: one record, count 1, header fields as given', () => {
    for (const n of [0, 1, 1000, MAX_WHOLE]) {
      const data = randomBytesFrom(random, n);
      const sends = layout(data, 0x1234);
      expect(sends).toHaveLength(1);
      expect(sends[0].length).toBe(HEADER_BYTES + n);
      expect([...sends[0].subarray(0, HEADER_BYTES)]).toEqual([MAGIC, 1, n >> 8, n & 0xff, 0x12, 0x34, 0, 0]);
      expect(checkLayout(data, 0x1234, undefined).equals(data)).toBe(true);
    }
    expect(layout(Buffer.alloc(MAX_WHOLE), 0)[0].length).toBe(MAX_UDP_PAYLOAD);
  });

  test('without segment: larger than MAX_WHOLE is a RangeError', () => {
    expect(() => layout(Buffer.alloc(MAX_WHOLE + 1), 0)).toThrow(RangeError);
    expect(() => layout(Buffer.alloc(100_000), 0)).toThrow(RangeError);
  });

  test('msgId: 0 and 65535 written as given; anything else is a RangeError', () => {
    expect(records(layout(Buffer.from('x'), 0)[0])[0].msgId).toBe(0);
    expect(records(layout(Buffer.alloc(3000), 65535, S)[0]).map((r) => r.msgId)).toEqual([65535, 65535, 65535]);
    for (const id of [-1, 65536, 1.5, NaN]) expect(() => layout(Buffer.from('x'), id)).toThrow(RangeError);
  });

  test('accepts any Uint8Array, not just Buffers, and copies it (the result does not alias the input)', () => {
    const backing = new Uint8Array(5000);
    for (let i = 0; i < backing.length; i++) backing[i] = i & 0xff;
    const view = backing.subarray(100, 4100);
    const expected = Buffer.from(view);
    for (const seg of [undefined, 1000]) {
      const sends = layout(view, 9, seg);
      backing.fill(0);
      const { r } = reassembler();
      let out: Buffer | undefined;
      for (const s of sends) for (const x of records(s)) out = r.add('p', x, 0) ?? out;
      expect(out!.equals(expected)).toBe(true);
      backing.set(expected, 100);
    }
  });

  test.each([0, 1, S - HEADER_BYTES, S - HEADER_BYTES + 1, 64934, MAX_CHUNKS * (S - HEADER_BYTES)])(
    'segment 1472, %i bytes: GSO-safe sends that reassemble exactly',
    (n) => {
      const data = randomBytesFrom(random, n);
      expect(checkLayout(data, 77, S).equals(data)).toBe(true);
    },
  );

  test('segment 1472: the count-1 / chunked boundary and send grouping', () => {
    const one = layout(Buffer.alloc(S - HEADER_BYTES), 1, S);
    expect(one.map((b) => b.length)).toEqual([S]);
    expect(records(one[0])[0].count).toBe(1);
    const two = layout(Buffer.alloc(S - HEADER_BYTES + 1), 1, S);
    expect(two.map((b) => b.length)).toEqual([S + HEADER_BYTES + 1]);
    expect(records(two[0]).map((r) => [r.index, r.count, r.body.length])).toEqual([
      [0, 2, S - HEADER_BYTES],
      [1, 2, 1],
    ]);
    // 64934 bytes = 44 full chunks and one of 518: 44 full records (the most a 1472 send can hold) and the short
    // last one in the same send (65294 <= MAX_GSO_SEND bytes)
    const big = layout(Buffer.alloc(64934), 1, S);
    expect(big.map((b) => b.length)).toEqual([44 * S + HEADER_BYTES + 518]);
    // 65400 bytes: the last chunk (984) no longer fits beside 44 full ones: a send of its own
    expect(layout(Buffer.alloc(65400), 1, S).map((b) => b.length)).toEqual([44 * S, HEADER_BYTES + 984]);
    // the largest allowed: MAX_CHUNKS chunks, all full
    const max = layout(Buffer.alloc(MAX_CHUNKS * (S - HEADER_BYTES)), 1, S);
    expect(max.map((b) => parseRecords(b).records.length)).toEqual([44, 44, 44, 44, 44, 35]);
  });

  test("a short last chunk joins the last full send when it fits (GSO's last segment may be shorter)", () => {
    // 1472: 44 full records are 64768 bytes; a 45th record of up to 721 bytes keeps the send within MAX_GSO_SEND
    const cap = singleSendCapacity(S);
    expect(MAX_GSO_SEND).toBe(65489);
    expect(cap).toBe(44 * (S - HEADER_BYTES) + (MAX_GSO_SEND - 44 * S - HEADER_BYTES));
    expect(cap).toBe(44 * 1464 + 713);
    for (const n of [44 * (S - HEADER_BYTES) + 1, cap - 1, cap]) {
      const data = randomBytesFrom(random, n);
      const sends = layout(data, 9, S);
      expect(sends).toHaveLength(1);
      expect(parseRecords(sends[0]).records).toHaveLength(45);
      expect(sends[0].length).toBeLessThanOrEqual(MAX_UDP_PAYLOAD);
      expect(checkLayout(data, 9, S).equals(data)).toBe(true);
    }
    // one byte more: the tail does not fit, it goes in a send of its own
    const over = layout(Buffer.alloc(cap + 1), 9, S);
    expect(over.map((b) => parseRecords(b).records.length)).toEqual([44, 1]);
    // after several full sends too
    const two = layout(Buffer.alloc(88 * (S - HEADER_BYTES) + 500), 9, S);
    expect(two.map((b) => parseRecords(b).records.length)).toEqual([44, 45]);
    // never past MAX_GSO_SEGMENTS records: with a segment of 100 a send is already 64 records
    expect(singleSendCapacity(100)).toBe(64 * 92);
    expect(layout(Buffer.alloc(64 * 92 + 1), 9, 100).map((b) => parseRecords(b).records.length)).toEqual([64, 1]);
  });

  test('more than MAX_CHUNKS chunks is a RangeError', () => {
    expect(() => layout(Buffer.alloc(MAX_CHUNKS * (S - HEADER_BYTES) + 1), 0, S)).toThrow(RangeError);
    expect(() => layout(Buffer.alloc(MAX_CHUNKS * 92 + 1), 0, 100)).toThrow(RangeError);
    expect(() => layout(Buffer.alloc(MAX_CHUNKS + 1), 0, HEADER_BYTES + 1)).toThrow(RangeError);
  });

  test('a small segment needs many sends, each at most MAX_GSO_SEGMENTS records', () => {
    for (const n of [92, 93, 10_000, MAX_CHUNKS * 92]) {
      const data = randomBytesFrom(random, n);
      expect(checkLayout(data, 5, 100).equals(data)).toBe(true);
    }
    const sends = layout(Buffer.alloc(MAX_CHUNKS * 92), 5, 100);
    expect(sends.map((b) => parseRecords(b).records.length)).toEqual([64, 64, 64, 63]);
    expect(sends.slice(0, 3).every((b) => b.length === 64 * 100)).toBe(true);
  });

  test('segment bounds: HEADER_BYTES+1 .. MAX_UDP_PAYLOAD, integers only', () => {
    for (const bad of [0, HEADER_BYTES, MAX_UDP_PAYLOAD + 1, 1472.5, NaN, Infinity, -1472]) {
      expect(() => layout(Buffer.alloc(10), 0, bad)).toThrow(RangeError);
    }
    // even when the message would fit in one record
    expect(() => layout(Buffer.alloc(0), 0, HEADER_BYTES)).toThrow(RangeError);
    // 1-byte bodies: 255 chunks, sends of 64
    const tiny = randomBytesFrom(random, MAX_CHUNKS);
    expect(checkLayout(tiny, 3, HEADER_BYTES + 1).equals(tiny)).toBe(true);
    // segment past half of MAX_UDP_PAYLOAD: one record per send
    const data = randomBytesFrom(random, MAX_WHOLE + 1);
    expect(layout(data, 3, MAX_UDP_PAYLOAD).map((b) => b.length)).toEqual([MAX_UDP_PAYLOAD, HEADER_BYTES + 1]);
    expect(checkLayout(data, 3, MAX_UDP_PAYLOAD).equals(data)).toBe(true);
    expect(checkLayout(data, 3, 40_000).equals(data)).toBe(true);
    // jumbo frames
    const jumbo = randomBytesFrom(random, 70_000);
    expect(layout(jumbo, 3, 8972).map((b) => b.length)).toEqual([7 * 8972, HEADER_BYTES + 70_000 - 7 * 8964]);
    expect(checkLayout(jumbo, 3, 8972).equals(jumbo)).toBe(true);
  });
});

describe('parseRecords', () => {
  const random = rng(2);

  test('a GRO read: records of several messages, concatenated', () => {
    const a = randomBytesFrom(random, 3000);
    const b = randomBytesFrom(random, 10);
    const c = Buffer.alloc(0);
    const read = Buffer.concat([...layout(a, 1, S), ...layout(b, 2, S), ...layout(c, 3, S), ...layout(b, 4)]);
    const { records: rs, error } = parseRecords(read);
    expect(error).toBeUndefined();
    expect(rs.map((r) => [r.msgId, r.index, r.count, r.body.length])).toEqual([
      [1, 0, 3, S - HEADER_BYTES],
      [1, 1, 3, S - HEADER_BYTES],
      [1, 2, 3, 3000 - 2 * (S - HEADER_BYTES)],
      [2, 0, 1, 10],
      [3, 0, 1, 0],
      [4, 0, 1, 10],
    ]);
    expect(Buffer.concat(rs.slice(0, 3).map((r) => r.body)).equals(a)).toBe(true);
    expect(rs[3].body.equals(b)).toBe(true);
    // bodies are views into the read
    for (const r of rs) expect(r.body.buffer).toBe(read.buffer);
    expect(rs[0].body.byteOffset).toBe(read.byteOffset + HEADER_BYTES);
  });

  test('the reserved byte is ignored', () => {
    const rs = records(Buffer.concat([raw(1, 0, 7, Buffer.from('hi'), MAGIC, 0xff), raw(2, 1, 8, Buffer.from('yo'), MAGIC, 1)]));
    expect(rs.map((r) => [r.msgId, r.index, r.count, r.body.toString()])).toEqual([
      [7, 0, 1, 'hi'],
      [8, 1, 2, 'yo'],
    ]);
  });

  test('an empty read is malformed', () => {
    expect(parseRecords(Buffer.alloc(0))).toEqual({ records: [], error: 'badFrame' });
  });

  const good = Buffer.concat([raw(1, 0, 10, Buffer.from('first')), raw(3, 2, 11, Buffer.from('second'))]);
  const goodSummary = [
    [10, 0, 1, 'first'],
    [11, 2, 3, 'second'],
  ];
  const after = raw(1, 0, 12, Buffer.from('never seen'));
  // [name, bad bytes, whether valid bytes may follow (a truncation is only one at the end of the read)]
  const malformed: [string, Buffer, boolean][] = [
    ['a short header', Buffer.from([MAGIC, 1, 0, 0, 0]), false],
    ['a lone magic byte', Buffer.from([MAGIC]), false],
    ['a wrong magic', raw(1, 0, 5, Buffer.from('x'), 0xa6), true],
    ['a zero magic', raw(1, 0, 5, Buffer.from('x'), 0), true],
    ['count 0', raw(0, 0, 5, Buffer.from('x')), true],
    ['index = count', raw(2, 2, 5, Buffer.from('x')), true],
    ['index > count', raw(1, 200, 5, Buffer.from('x')), true],
    ['a body running past the end', raw(1, 0, 5, Buffer.from('abcdef')).subarray(0, HEADER_BYTES + 3), false],
    ['a body one byte past the end', raw(1, 0, 5, Buffer.from('abc')).subarray(0, HEADER_BYTES + 2), false],
    ['a body length far past the end', Buffer.from([MAGIC, 1, 0xff, 0xff, 0, 5, 0, 0, 1, 2, 3]), true],
  ];
  test.each(malformed)('%s: badFrame, earlier records kept, later ones not read', (_name, bad, followed) => {
    for (const prefix of [Buffer.alloc(0), good]) {
      const tail = followed ? [after] : [];
      const { records: rs, error } = parseRecords(Buffer.concat([prefix, bad, ...tail]));
      expect(error).toBe('badFrame');
      expect(rs.map((r) => [r.msgId, r.index, r.count, r.body.toString()])).toEqual(prefix.length ? goodSummary : []);
    }
  });

  test('a datagram cut short anywhere is badFrame with the whole records before the cut kept', () => {
    const sends = Buffer.concat(layout(randomBytesFrom(random, 500), 9, 100));
    const full = records(sends);
    for (let cut = 1; cut < sends.length; cut++) {
      const { records: rs, error } = parseRecords(sends.subarray(0, cut));
      const whole = Math.floor(cut / 100);
      expect(rs.length).toBe(whole);
      expect(error).toBe(cut % 100 === 0 ? undefined : 'badFrame');
      if (whole) expect(rs[whole - 1].index).toBe(full[whole - 1].index);
    }
  });
});

describe('Reassembler', () => {
  const random = rng(3);

  /** chunk records of a message laid out with segment */
  function chunks(data: Buffer, msgId: number, segment: number): FrameRecord[] {
    return layout(data, msgId, segment).flatMap(records);
  }

  /** feeds records, expecting undefined until the last, which must give data back */
  function feed(r: Reassembler, from: string, rs: FrameRecord[], data: Buffer, now = 0): void {
    rs.forEach((x, i) => {
      const out = r.add(from, x, now);
      if (i < rs.length - 1) expect(out).toBeUndefined();
      else expect(out?.equals(data)).toBe(true);
    });
  }

  test('in order', () => {
    const { r, drops } = reassembler();
    const data = randomBytesFrom(random, 64934);
    const rs = chunks(data, 1, S);
    expect(rs).toHaveLength(45);
    rs.slice(0, 10).forEach((x) => r.add('a', x, 0));
    expect(r.pending).toEqual({ messages: 1, bytes: 10 * (S - HEADER_BYTES) });
    feed(r, 'a', rs.slice(10), data);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
    expect(drops).toEqual([]);
  });

  test('reverse order and seeded random permutations', () => {
    const { r, drops } = reassembler();
    const data = randomBytesFrom(random, 20_000);
    feed(r, 'a', chunks(data, 2, S).reverse(), data);
    for (let k = 0; k < 20; k++) feed(r, 'a', shuffle(chunks(data, 3 + k, 500), random), data);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
    expect(drops).toEqual([]);
  });

  test('the completed message is one fresh copy; the read can be reused after', () => {
    const { r } = reassembler();
    const data = randomBytesFrom(random, 3000);
    const read = Buffer.concat(layout(data, 1, S));
    let out: Buffer | undefined;
    for (const x of records(read)) out = r.add('a', x, 0);
    // not a view of the read (both may still sit in Buffer's shared pool: compare the memory, not the ArrayBuffer)
    const overlaps = out!.buffer === read.buffer && out!.byteOffset < read.byteOffset + read.length && read.byteOffset < out!.byteOffset + out!.length;
    expect(overlaps).toBe(false);
    read.fill(0);
    expect(out!.equals(data)).toBe(true);
  });

  test('count 1 returns the body itself: a view into the read, no copy, nothing held', () => {
    const { r } = reassembler();
    const read = Buffer.concat([...layout(Buffer.from('hello'), 1), ...layout(Buffer.from('world'), 2, S)]);
    const rs = records(read);
    const outs = rs.map((x) => r.add('a', x, 0));
    expect(outs[0]).toBe(rs[0].body);
    expect(outs[0]!.buffer).toBe(read.buffer);
    expect(outs[0]!.byteOffset).toBe(read.byteOffset + HEADER_BYTES);
    expect(outs[1]!.buffer).toBe(read.buffer);
    expect(outs.map((o) => o!.toString())).toEqual(['hello', 'world']);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('interleaved messages from two senders, and the same msgId from two senders, kept apart', () => {
    const { r, drops } = reassembler();
    const a1 = randomBytesFrom(random, 5000);
    const a2 = randomBytesFrom(random, 4000);
    const b1 = randomBytesFrom(random, 6000);
    const streams: [string, Buffer, FrameRecord[]][] = [
      ['10.0.0.1:6783', a1, chunks(a1, 7, S)],
      ['10.0.0.1:6783', a2, chunks(a2, 8, S)],
      ['10.0.0.2:6783', b1, chunks(b1, 7, S)], // same msgId as a1, other sender
    ];
    const got = new Map<string, Buffer>();
    const queue = streams.flatMap(([from, , rs]) => rs.map((x) => [from, x] as const));
    for (const [from, x] of shuffle(queue, random)) {
      const out = r.add(from, x, 0);
      if (out) got.set(`${from}#${x.msgId}`, out);
    }
    expect(got.size).toBe(3);
    expect(got.get('10.0.0.1:6783#7')!.equals(a1)).toBe(true);
    expect(got.get('10.0.0.1:6783#8')!.equals(a2)).toBe(true);
    expect(got.get('10.0.0.2:6783#7')!.equals(b1)).toBe(true);
    expect(drops).toEqual([]);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('sender keys holding separators, digits or nothing stay apart', () => {
    const { r } = reassembler();
    const froms = ['', '1', '/', '1/', '/1', '1/1', 'x/1/2', '12'];
    for (const from of froms) for (const id of [1, 12]) expect(r.add(from, rec(id, 0, 2, `${from}#${id}`), 0)).toBeUndefined();
    expect(r.pending.messages).toBe(froms.length * 2);
    for (const from of froms) for (const id of [1, 12]) expect(r.add(from, rec(id, 1, 2, '!'), 0)?.toString()).toBe(`${from}#${id}!`);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('duplicates are ignored and counted; the first copy wins', () => {
    const { r, drops } = reassembler();
    expect(r.add('a', rec(1, 0, 3, 'x'), 0)).toBeUndefined();
    expect(r.add('a', rec(1, 0, 3, 'y'), 0)).toBeUndefined();
    expect(r.add('a', rec(1, 2, 3, 'z'), 0)).toBeUndefined();
    expect(r.add('a', rec(1, 2, 3, 'z'), 0)).toBeUndefined();
    expect(drops).toEqual(['duplicateChunk', 'duplicateChunk']);
    expect(r.pending).toEqual({ messages: 1, bytes: 2 });
    expect(r.add('a', rec(1, 1, 3, 'w'), 0)?.toString()).toBe('xwz');
    // a duplicate after completion starts a new message (it was forgotten)
    expect(r.add('a', rec(1, 1, 3, 'w'), 0)).toBeUndefined();
    expect(drops).toHaveLength(2);
    expect(r.pending).toEqual({ messages: 1, bytes: 1 });
  });

  test('a different count drops the held message and restarts with the new chunk', () => {
    const { r, drops } = reassembler();
    r.add('a', rec(1, 0, 3, 'old0'), 0);
    r.add('a', rec(1, 2, 3, 'old2'), 0);
    expect(r.add('a', rec(1, 1, 2, 'new1'), 0)).toBeUndefined();
    expect(drops).toEqual(['inconsistentChunk']);
    expect(r.pending).toEqual({ messages: 1, bytes: 4 });
    expect(r.add('a', rec(1, 0, 2, 'new0'), 0)?.toString()).toBe('new0new1');
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('a count-1 record leaves a held message with the same msgId alone', () => {
    const { r, drops } = reassembler();
    r.add('a', rec(1, 0, 2, 'x'), 0);
    expect(r.add('a', rec(1, 0, 1, 'whole'), 0)?.toString()).toBe('whole');
    expect(r.add('a', rec(1, 1, 2, 'y'), 0)?.toString()).toBe('xy');
    expect(drops).toEqual([]);
  });

  test('timeout: a message older than timeoutMs is dropped when a later add happens', () => {
    const { r, drops } = reassembler({ timeoutMs: 1000 });
    r.add('a', rec(1, 0, 2, 'a0'), 0);
    r.add('b', rec(1, 0, 2, 'b0'), 500);
    r.add('c', rec(9, 0, 2, 'c0'), 1000); // a is exactly timeoutMs old: kept
    expect(drops).toEqual([]);
    expect(r.pending.messages).toBe(3);
    r.add('c', rec(10, 0, 2, 'd0'), 1001); // now a is older
    expect(drops).toEqual(['reassemblyTimeout']);
    expect(r.pending).toEqual({ messages: 3, bytes: 6 });
    // a's last chunk comes too late: it starts over, alone
    expect(r.add('a', rec(1, 1, 2, 'a1'), 1001)).toBeUndefined();
    // b, still in time, completes
    expect(r.add('b', rec(1, 1, 2, 'b1'), 1500)?.toString()).toBe('b0b1');
    // c's message 9 expires on the very add of its own last chunk, which starts over
    expect(r.add('c', rec(9, 1, 2, 'c1'), 2001)).toBeUndefined();
    expect(drops).toEqual(['reassemblyTimeout', 'reassemblyTimeout']);
    expect(r.pending).toEqual({ messages: 3, bytes: 6 }); // (c,10) and (a,1) since 1001, (c,9) since 2001
  });

  test('expire() drops old messages without an add', () => {
    const { r, drops } = reassembler({ timeoutMs: 100 });
    r.add('a', rec(1, 0, 2, 'xx'), 0);
    r.add('a', rec(2, 0, 2, 'yy'), 50);
    r.expire(100);
    expect(r.pending.messages).toBe(2);
    r.expire(101);
    expect(r.pending).toEqual({ messages: 1, bytes: 2 });
    r.expire(10_000);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
    expect(drops).toEqual(['reassemblyTimeout', 'reassemblyTimeout']);
  });

  test('time going backwards: an expired message found by its own chunk is still dropped', () => {
    const { r, drops } = reassembler({ timeoutMs: 100 });
    r.add('a', rec(1, 0, 2, 'new'), 1000);
    r.add('a', rec(2, 0, 2, 'old'), 0); // clock stepped back: inserted after a younger one
    expect(r.add('a', rec(2, 1, 2, 'late'), 150)).toBeUndefined();
    expect(drops).toEqual(['reassemblyTimeout']);
    expect(r.pending.messages).toBe(2);
  });

  test('maxPending: the oldest message goes first', () => {
    const { r, drops } = reassembler({ maxPending: 3 });
    for (let id = 1; id <= 3; id++) r.add('a', rec(id, 0, 2, `m${id}`), id);
    expect(drops).toEqual([]);
    r.add('b', rec(4, 0, 2, 'm4'), 4);
    expect(drops).toEqual(['reassemblyOverflow']);
    expect(r.pending).toEqual({ messages: 3, bytes: 6 });
    // 1 was dropped: its second chunk starts it over (and pushes out 2)
    expect(r.add('a', rec(1, 1, 2, 'x'), 5)).toBeUndefined();
    expect(drops).toEqual(['reassemblyOverflow', 'reassemblyOverflow']);
    expect(r.add('a', rec(3, 1, 2, 'x'), 6)?.toString()).toBe('m3x');
    expect(r.add('b', rec(4, 1, 2, 'x'), 6)?.toString()).toBe('m4x');
    expect(r.pending).toEqual({ messages: 1, bytes: 1 });
  });

  test('maxBytes: the oldest messages go first; a completing chunk evicts nothing', () => {
    const { r, drops } = reassembler({ maxBytes: 250 });
    const c = (fill: string) => Buffer.alloc(100, fill);
    r.add('a', rec(1, 0, 2, c('a')), 0);
    r.add('a', rec(2, 0, 3, c('b')), 1);
    expect(r.pending).toEqual({ messages: 2, bytes: 200 });
    // completes 1 although 300 bytes were momentarily held
    const out = r.add('a', rec(1, 1, 2, c('A')), 2);
    expect(out?.equals(Buffer.concat([c('a'), c('A')]))).toBe(true);
    expect(drops).toEqual([]);
    expect(r.pending).toEqual({ messages: 1, bytes: 100 });
    r.add('a', rec(3, 0, 2, c('c')), 3);
    r.add('a', rec(3, 1, 3, Buffer.alloc(0)), 3); // inconsistent: 3 restarts with 0 bytes
    r.add('a', rec(4, 0, 2, c('d')), 4);
    r.add('a', rec(5, 0, 2, c('e')), 5); // 300 bytes: 2 (the oldest) goes
    expect(drops).toEqual(['inconsistentChunk', 'reassemblyOverflow']);
    expect(r.pending).toEqual({ messages: 3, bytes: 200 });
    // several go at once when one chunk is big
    r.add('b', rec(1, 0, 2, Buffer.alloc(240)), 6);
    expect(drops).toEqual(['inconsistentChunk', 'reassemblyOverflow', 'reassemblyOverflow', 'reassemblyOverflow', 'reassemblyOverflow']);
    expect(r.pending).toEqual({ messages: 1, bytes: 240 });
    // a message bigger than maxBytes on its own is dropped too
    r.add('b', rec(1, 1, 3, Buffer.alloc(251)), 7);
    expect(drops.slice(5)).toEqual(['inconsistentChunk', 'reassemblyOverflow']);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('many messages through: pending goes back to 0', () => {
    const { r, drops } = reassembler({ maxPending: 4 });
    for (let id = 0; id < 300; id++) {
      const data = randomBytesFrom(random, Math.floor(random() * 3000));
      feed(r, `p${id % 3}`, chunks(data, id & 0xffff, 600), data, id);
    }
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
    expect(drops).toEqual([]);
  });

  test('options are checked', () => {
    const onDrop = () => undefined;
    expect(() => new Reassembler({ timeoutMs: -1, maxPending: 1, maxBytes: 0, onDrop })).toThrow(RangeError);
    expect(() => new Reassembler({ timeoutMs: 0, maxPending: 0, maxBytes: 0, onDrop })).toThrow(RangeError);
    expect(() => new Reassembler({ timeoutMs: 0, maxPending: 1, maxBytes: NaN, onDrop })).toThrow(RangeError);
    expect(() => new Reassembler({ timeoutMs: 0, maxPending: 1, maxBytes: 0, onDrop })).not.toThrow();
  });
});

describe('round trip: layout → GSO → arbitrary GRO groupings → parseRecords → Reassembler', () => {
  test.each([undefined, 200, 1472, 8972])('segment %s', (segment) => {
    const random = rng(segment ?? 7);
    const senders = ['10.0.0.1:6783', '10.0.0.2:6783', '10.0.0.3:6783'];
    for (let round = 0; round < 4; round++) {
      const sent = new Map<string, Buffer>();
      // per sender, its datagrams in send order (the wire within one flow)
      const wire = new Map<string, Buffer[]>(senders.map((s) => [s, []]));
      senders.forEach((from, si) => {
        let id = (65530 + si * 3 + round * 11) & 0xffff; // near the wrap
        for (let k = 0; k < 8; k++, id = (id + 1) & 0xffff) {
          const small = random() < 0.3;
          const n = Math.min(Math.floor(random() * (small ? 3 * (segment ?? 1000) : 70_001)), maxMessage(segment));
          const data = randomBytesFrom(random, n);
          sent.set(`${from}#${id}`, data);
          for (const send of layout(data, id, segment)) wire.get(from)!.push(...gsoSplit(send, segment));
        }
      });
      // a little reordering within each flow: swap neighbours now and then
      for (const dgrams of wire.values()) {
        for (let i = 0; i + 1 < dgrams.length; i++) {
          if (random() < 0.1) [dgrams[i], dgrams[i + 1]] = [dgrams[i + 1], dgrams[i]];
        }
      }
      // GRO: each read is a run of consecutive datagrams of one flow; flows interleave
      const reads: [string, Buffer][] = [];
      const cursors = new Map(senders.map((s) => [s, 0]));
      for (;;) {
        const live = senders.filter((s) => cursors.get(s)! < wire.get(s)!.length);
        if (!live.length) break;
        const from = live[Math.floor(random() * live.length)];
        const at = cursors.get(from)!;
        const run = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 70));
        const group = wire.get(from)!.slice(at, at + run);
        cursors.set(from, at + group.length);
        reads.push([from, Buffer.concat(group)]);
      }
      const drops: ReassemblyDrop[] = [];
      const r = new Reassembler({ timeoutMs: 1e9, maxPending: 1000, maxBytes: 1 << 26, onDrop: (d) => drops.push(d) });
      const got = new Map<string, Buffer>();
      reads.forEach(([from, read], t) => {
        const { records: rs, error } = parseRecords(read);
        expect(error).toBeUndefined();
        for (const x of rs) {
          const out = r.add(from, x, t);
          if (!out) continue;
          const key = `${from}#${x.msgId}`;
          expect(got.has(key)).toBe(false);
          got.set(key, Buffer.from(out)); // a copy: count-1 bodies are views into the read
        }
      });
      expect(drops).toEqual([]);
      expect(r.pending).toEqual({ messages: 0, bytes: 0 });
      expect([...got.keys()].sort()).toEqual([...sent.keys()].sort());
      for (const [k, data] of sent) if (!got.get(k)!.equals(data)) throw new Error(`message ${k} differs`);
    }
  });
});

describe('layout of a message in parts', () => {
  const random = rng(9);

  test('the same sends as for the parts copied together, wherever the parts are cut', () => {
    for (const segment of [undefined, 100, S]) {
      for (const n of [0, 1, 91, 92, 93, 1464, 1465, 20_000, 60_000]) {
        if (segment === 100 && n > MAX_CHUNKS * 92) continue;
        const data = randomBytesFrom(random, n);
        const cuts = [0, ...Array.from({ length: 5 }, () => Math.floor(random() * (n + 1))).sort((a, b) => a - b), n];
        const parts = cuts.slice(1).map((c, i) => data.subarray(cuts[i], c));
        const want = layout(data, 3, segment);
        const got = layout(parts, 3, segment);
        expect(got.length).toBe(want.length);
        got.forEach((g, i) => expect(g.equals(want[i]!)).toBe(true));
      }
    }
  });
});

describe('layout with an allocator', () => {
  const random = rng(13);

  test('the same bytes as with the default, every send buffer from the allocator, every byte written', () => {
    let checked = 0;
    let chunked = 0;
    for (const segment of [undefined, 100, S, 8972, MAX_UDP_PAYLOAD]) {
      for (const n of [0, 1, 91, 92, 93, 1463, 1464, 1465, singleSendCapacity(S), singleSendCapacity(S) + 1, 20_000, 64_934, 65_400, MAX_WHOLE]) {
        const data = randomBytesFrom(random, n);
        let want: Buffer[];
        try {
          want = layout(data, 0x4242, segment);
        } catch {
          expect(() => layout(data, 0x4242, segment, () => fail('allocated for a message it refuses'))).toThrow(RangeError);
          continue;
        }
        // views at an odd offset into junk: layout must write every byte, relative to the view
        const given: Buffer[] = [];
        const alloc = (size: number) => {
          const b = Buffer.alloc(size + 3, 0xee).subarray(3);
          given.push(b);
          return b;
        };
        const got = layout([data.subarray(0, n >> 1), data.subarray(n >> 1)], 0x4242, segment, alloc);
        expect(got).toHaveLength(want.length);
        got.forEach((g, i) => {
          expect(g).toBe(given[i]);
          expect(g.equals(want[i]!)).toBe(true);
        });
        expect(given).toHaveLength(got.length);
        checked++;
        if (records(got[0]!)[0]!.count > 1 && got.length > 1) chunked++;
      }
    }
    // the chunked path is among them, with messages that take more than one send
    expect(checked).toBeGreaterThan(50);
    expect(chunked).toBeGreaterThanOrEqual(5);
  });
});

describe('joinWholeInPlace', () => {
  const random = rng(5);

  test('one GSO send of one chunked message: the message, as a view of the read (joined in place)', () => {
    for (const [n, seg] of [[S - HEADER_BYTES + 1, S], [20_000, S], [singleSendCapacity(S), S], [5000, 100]] as const) {
      const data = randomBytesFrom(random, n);
      const sends = layout(data, 0xbeef, seg);
      expect(sends).toHaveLength(1);
      const read = Buffer.from(sends[0]);
      const out = joinWholeInPlace(read)!;
      expect(out.equals(data)).toBe(true);
      expect(out.buffer).toBe(read.buffer);
      expect(out.byteOffset).toBe(read.byteOffset);
    }
  });

  test('anything else: undefined, the read untouched (parseRecords and the reassembler take it)', () => {
    const data = randomBytesFrom(random, 10_000);
    const [send] = layout(data, 7, S);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      layout(Buffer.from('small'), 7, S)[0], // count 1
      Buffer.concat([send, send]), // two messages in one read
      Buffer.concat([send, layout(Buffer.from('x'), 8, S)[0]]), // trailing record
      send.subarray(0, send.length - 1), // truncated
      send.subarray(S), // chunk 0 missing
      Buffer.concat([send.subarray(S, 2 * S), send.subarray(0, S), send.subarray(2 * S)]), // out of order
    ];
    const otherId = Buffer.from(send);
    otherId.writeUInt16BE(8, S + 4); // chunk 1 of another message
    cases.push(otherId);
    const badMagic = Buffer.from(send);
    badMagic[2 * S] = 0;
    cases.push(badMagic);
    const otherCount = Buffer.from(send);
    otherCount[S + 1] = 9;
    cases.push(otherCount);
    for (const c of cases) {
      const before = Buffer.from(c);
      expect(joinWholeInPlace(c)).toBeUndefined();
      expect(c.equals(before)).toBe(true);
    }
  });
});
