import { NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, RTM_GETLINK, RTM_NEWLINK } from '../../../src/netlink/codec/constants';
import { DecodeError, EncodeError } from '../../../src/netlink/codec/errors';
import { decodeMessages, decodeStatus, encodeMessage, type Message } from '../../../src/netlink/codec/message';
import { hex } from './hex';

const msg = (type: number, seq: number, payload: Buffer, flags = 0, pid = 0): Message => ({ type, flags, seq, pid, payload });
const encode = (m: Message): Buffer => encodeMessage(m, m.payload);

describe('encodeMessage', () => {
  test('nlmsghdr: u32 len (header + payload, unpadded), u16 type, u16 flags, u32 seq, u32 pid; little-endian', () => {
    const out = encodeMessage({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 0x01020304, pid: 0x0a0b0c0d }, hex('11 22 33 44'));
    expect(out).toEqual(hex('14 00 00 00 | 12 00 | 01 03 | 04 03 02 01 | 0d 0c 0b 0a | 11 22 33 44'));
  });

  test('pid defaults to 0 (the kernel); an unaligned payload is zero-padded but not counted in len', () => {
    const out = encodeMessage({ type: 16, flags: 5, seq: 7 }, hex('aa bb c0'));
    expect(out).toEqual(hex('13 00 00 00 | 10 00 | 05 00 | 07 00 00 00 | 00 00 00 00 | aa bb c0 00'));
    expect(encodeMessage({ type: 3, flags: 0, seq: 1 }, Buffer.alloc(0))).toEqual(hex('10 00 00 00 03 00 00 00 01 00 00 00 00 00 00 00'));
  });

  test.each([
    ['type', { type: 0x10000, flags: 0, seq: 0 }],
    ['negative type', { type: -1, flags: 0, seq: 0 }],
    ['flags', { type: 1, flags: 0x10000, seq: 0 }],
    ['seq', { type: 1, flags: 0, seq: 2 ** 32 }],
    ['fractional seq', { type: 1, flags: 0, seq: 1.5 }],
    ['pid', { type: 1, flags: 0, seq: 0, pid: -1 }],
  ])('out-of-range %s is an EncodeError', (_what, h) => {
    expect(() => encodeMessage(h, Buffer.alloc(0))).toThrow(EncodeError);
  });

  test('the largest values fit', () => {
    const out = encodeMessage({ type: 0xffff, flags: 0xffff, seq: 0xffffffff, pid: 0xffffffff }, Buffer.alloc(0));
    expect(decodeMessages(out)).toEqual([msg(0xffff, 0xffffffff, Buffer.alloc(0), 0xffff, 0xffffffff)]);
  });
});

describe('decodeMessages', () => {
  test.each([0, 1, 2, 3, 4, 5, 17, 64])('round trip with a %i-byte payload', (n) => {
    const m = msg(RTM_NEWLINK, 42, Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff)), NLM_F_MULTI, 1234);
    expect(decodeMessages(encode(m))).toEqual([m]);
  });

  test('several messages in one buffer, each starting aligned', () => {
    const ms = [
      msg(RTM_NEWLINK, 9, hex('01'), NLM_F_MULTI, 77),
      msg(RTM_NEWLINK, 9, hex('02 03 04 05 06'), NLM_F_MULTI, 77),
      msg(RTM_NEWLINK, 9, hex('07 08 09 0a'), NLM_F_MULTI, 77),
      msg(NLMSG_DONE, 9, hex('00 00 00 00'), NLM_F_MULTI, 77),
    ];
    const buf = Buffer.concat(ms.map(encode));
    expect(buf.length).toBe(20 + 24 + 20 + 20);
    expect(decodeMessages(buf)).toEqual(ms);
    // the second starts at 20 (17 rounded up), the third at 44 (20 + 21 rounded up)
    expect(buf.readUInt32LE(20)).toBe(21);
    expect(buf.readUInt32LE(44)).toBe(20);
  });

  test('payloads are views into the buffer, not copies', () => {
    const buf = encode(msg(RTM_NEWLINK, 1, hex('aa bb')));
    const [m] = decodeMessages(buf);
    buf[16] = 0xcc;
    expect(m!.payload).toEqual(hex('cc bb'));
  });

  test('the last message may lack its padding (as the kernel accepts); an empty buffer has none', () => {
    const a = encode(msg(RTM_NEWLINK, 1, hex('01 02 03')));
    const b = encode(msg(RTM_NEWLINK, 2, hex('04')));
    const buf = Buffer.concat([a, b]).subarray(0, a.length + 17);
    expect(decodeMessages(buf)).toEqual([msg(RTM_NEWLINK, 1, hex('01 02 03')), msg(RTM_NEWLINK, 2, hex('04'))]);
    expect(decodeMessages(Buffer.alloc(0))).toEqual([]);
  });

  test('truncation at every byte offset: a DecodeError inside a message, the whole messages before a boundary', () => {
    const ms = [msg(RTM_NEWLINK, 5, hex('01 02 03 04 05')), msg(RTM_NEWLINK, 5, hex('06 07')), msg(NLMSG_ERROR, 5, Buffer.alloc(20))];
    const parts = ms.map(encode);
    const buf = Buffer.concat(parts);
    // where each message starts, and ends before its padding
    let start = 0;
    const spans = ms.map((m, i) => {
      const span = { start, end: start + 16 + m.payload.length };
      start += parts[i]!.length;
      return span;
    });
    let errors = 0;
    for (let cut = 0; cut < buf.length; cut++) {
      const whole = spans.filter((s) => s.end <= cut).length;
      const inside = spans.some((s) => cut > s.start && cut < s.end);
      const part = buf.subarray(0, cut);
      if (inside) {
        expect(() => decodeMessages(part)).toThrow(DecodeError);
        errors++;
      } else {
        expect(decodeMessages(part)).toEqual(ms.slice(0, whole));
      }
    }
    expect(errors).toBe(spans.reduce((n, s) => n + s.end - s.start - 1, 0));
  });

  test('a length below the header size or past the end is a DecodeError naming the offset', () => {
    const ok = encode(msg(RTM_NEWLINK, 1, hex('01 02 03 04')));
    const tooSmall = Buffer.from(ok);
    tooSmall.writeUInt32LE(15, 0);
    expect(() => decodeMessages(tooSmall)).toThrow(/impossible length 15/);
    const zero = Buffer.concat([ok, Buffer.alloc(16)]);
    expect(() => decodeMessages(zero)).toThrow(/impossible length 0 \(at byte 20\)/);
    const tooBig = Buffer.from(ok);
    tooBig.writeUInt32LE(0xffffffff, 0);
    expect(() => decodeMessages(tooBig)).toThrow(DecodeError);
    expect(() => decodeMessages(tooBig)).toThrow(/overruns the buffer/);
  });

  test('garbage never crashes: DecodeError or messages that stay inside the buffer', () => {
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(Array.from({ length: rand() % 64 }, rand));
      // a small length in the first header now and then, so that some parse
      if (buf.length >= 4 && i % 3 === 0) buf.writeUInt32LE(16 + (rand() % 8), 0);
      try {
        for (const m of decodeMessages(buf)) expect(m.payload.length).toBeLessThanOrEqual(buf.length - 16);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });
});

describe('decodeStatus', () => {
  test('an ACK: NLMSG_ERROR with error 0, then the echoed request header', () => {
    const ack = hex('00 00 00 00 | 14 00 00 00 10 00 05 06 2a 00 00 00 00 00 00 00');
    expect(decodeStatus(ack)).toBe(0);
  });

  test('an error is a negative errno (s32)', () => {
    expect(decodeStatus(hex('ef ff ff ff 14 00 00 00 10 00 05 06 2a 00 00 00 00 00 00 00'))).toBe(-17);
    expect(decodeStatus(hex('ed ff ff ff'))).toBe(-19);
  });

  test("a dump's NLMSG_DONE carries the same s32", () => {
    const [done] = decodeMessages(encode(msg(NLMSG_DONE, 3, hex('f0 ff ff ff'), NLM_F_MULTI | NLM_F_ACK)));
    expect(decodeStatus(done!.payload)).toBe(-16);
  });

  test.each([0, 1, 2, 3])('a %i-byte payload is a DecodeError', (n) => {
    expect(() => decodeStatus(Buffer.alloc(n))).toThrow(DecodeError);
  });
});
