/**
 * bpf(2)'s pure encoders against `union bpf_attr` in include/uapi/linux/bpf.h (offsets checked with
 * offsetof() on /usr/include/linux/bpf.h). Pointers are made-up values with all 8 bytes distinct, so a
 * field written 4 bytes wide or at the wrong place shows.
 */
import {
  ATTACH_TCX_EGRESS, ATTACH_TCX_INGRESS, decodeTestRun, encodeProgLoad, encodeTcxLink, encodeTestRun,
  PROG_TYPE_SCHED_CLS, SK_BUFF_BYTES, TCX_DROP, TCX_NEXT, TCX_PASS, TCX_REDIRECT, verifierTail,
} from '../../../src/bpf/bpf';
import { hex, zeros } from '../netlink/hex';

const P1 = 0x0807_0605_0403_0201n;
const P2 = 0x1817_1615_1413_1211n;
const P3 = 0x2827_2625_2423_2221n;
const P1_LE = '01 02 03 04 05 06 07 08';
const P2_LE = '11 12 13 14 15 16 17 18';
const P3_LE = '21 22 23 24 25 26 27 28';

const INSNS = hex('b7 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00'); // r0 = 0; exit

/** the offsets of the bytes that are not zero */
function nonZero(b: Buffer): number[] {
  return [...b.keys()].filter((i) => b[i] !== 0);
}

describe('encodeProgLoad (BPF_PROG_LOAD)', () => {
  test('every field at its offset, 128 bytes', () => {
    const a = encodeProgLoad(
      { progType: PROG_TYPE_SCHED_CLS, insns: INSNS, license: 'GPL', name: 'weft_redirect', logLevel: 1, logSize: 0x40000 },
      { insns: P1, license: P2, log: P3 },
    );
    expect(a).toEqual(hex(
      '03 00 00 00'                            // 0  prog_type
      + '02 00 00 00'                          // 4  insn_cnt: instructions, not bytes
      + P1_LE                                  // 8  insns
      + P2_LE                                  // 16 license
      + '01 00 00 00'                          // 24 log_level
      + '00 00 04 00'                          // 28 log_size
      + P3_LE                                  // 32 log_buf
      + '00 00 00 00 | 00 00 00 00'            // 40 kern_version, 44 prog_flags
      + '77 65 66 74 5f 72 65 64 69 72 65 63 74 00 00 00' // 48 prog_name "weft_redirect\0"
      + zeros(64),                             // 64.. prog_ifindex and the rest
    ));
  });

  test('field offsets by name', () => {
    const a = encodeProgLoad(
      { progType: 0x0a0b0c0d, insns: Buffer.alloc(8 * 300), license: '', name: 'n', logLevel: 2, logSize: 12345 },
      { insns: P1, license: P2, log: P3 },
    );
    expect(a.readUInt32LE(0)).toBe(0x0a0b0c0d);
    expect(a.readUInt32LE(4)).toBe(300);
    expect(a.readBigUInt64LE(8)).toBe(P1);
    expect(a.readBigUInt64LE(16)).toBe(P2);
    expect(a.readUInt32LE(24)).toBe(2);
    expect(a.readUInt32LE(28)).toBe(12345);
    expect(a.readBigUInt64LE(32)).toBe(P3);
    expect(a.subarray(48, 50)).toEqual(hex('6e 00'));
  });

  test('what is not set is zero: no log, no name', () => {
    const a = encodeProgLoad({ progType: 0, insns: INSNS, license: 'GPL', name: '', logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n });
    expect(a).toHaveLength(128);
    expect(nonZero(a)).toEqual([4]); // insn_cnt only
  });

  test('a 15-character name keeps its NUL and spills into nothing', () => {
    const a = encodeProgLoad({ progType: 3, insns: INSNS, license: 'GPL', name: 'abcdefghijklmn.', logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n });
    expect(a.subarray(48, 64)).toEqual(hex('61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 2e 00'));
    expect(nonZero(a.subarray(64))).toEqual([]);
  });

  test.each(['A_Z.a_z.0_9', 'x', '_', '.', '0123456789abcde'])('name %j is accepted', (name) => {
    expect(() => encodeProgLoad({ progType: 3, insns: INSNS, license: 'GPL', name, logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n }))
      .not.toThrow();
  });

  test.each(['0123456789abcdef', 'a'.repeat(40), 'weft-redirect', 'a b', 'é', 'a\0', 'a/b', 'naïve', 'x\n'])('name %j is refused', (name) => {
    expect(() => encodeProgLoad({ progType: 3, insns: INSNS, license: 'GPL', name, logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n }))
      .toThrow(RangeError);
    expect(() => encodeProgLoad({ progType: 3, insns: INSNS, license: 'GPL', name, logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n }))
      .toThrow('bad program name');
  });

  test.each([0, 1, 7, 12, 17])('%d bytes of instructions are refused', (n) => {
    expect(() => encodeProgLoad({ progType: 3, insns: Buffer.alloc(n), license: 'GPL', name: 'p', logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n }))
      .toThrow(RangeError);
    expect(() => encodeProgLoad({ progType: 3, insns: Buffer.alloc(n), license: 'GPL', name: 'p', logLevel: 0, logSize: 0 }, { insns: 0n, license: 0n, log: 0n }))
      .toThrow('whole 8-byte instructions');
  });
});

describe('encodeTcxLink (BPF_LINK_CREATE)', () => {
  test('prog_fd@0, target_ifindex@4, attach_type@8; flags@12 and the rest zero (append)', () => {
    expect(encodeTcxLink(7, 0x0102, ATTACH_TCX_INGRESS)).toEqual(hex(
      '07 00 00 00 | 02 01 00 00 | 2e 00 00 00 | 00 00 00 00' + zeros(112),
    ));
    expect(encodeTcxLink(0x01020304, 0x05060708, ATTACH_TCX_EGRESS)).toEqual(hex(
      '04 03 02 01 | 08 07 06 05 | 2f 00 00 00 | 00 00 00 00' + zeros(112),
    ));
  });

  test('nothing else is set', () => {
    expect(nonZero(encodeTcxLink(0, 0, 0))).toEqual([]);
  });
});

describe('encodeTestRun (BPF_PROG_TEST_RUN)', () => {
  test('every field at its offset, one repetition', () => {
    const a = encodeTestRun(9, { dataIn: P1, dataInBytes: 54, dataOut: P2, dataOutBytes: 310, ctxIn: P3, ctxInBytes: 192 });
    expect(a).toEqual(hex(
      '09 00 00 00'               // 0  prog_fd
      + '00 00 00 00'             // 4  retval (out)
      + '36 00 00 00'             // 8  data_size_in
      + '36 01 00 00'             // 12 data_size_out
      + P1_LE                     // 16 data_in
      + P2_LE                     // 24 data_out
      + '01 00 00 00'             // 32 repeat
      + '00 00 00 00'             // 36 duration (out)
      + 'c0 00 00 00'             // 40 ctx_size_in
      + '00 00 00 00'             // 44 ctx_size_out: no ctx_out
      + P3_LE                     // 48 ctx_in
      + zeros(8)                  // 56 ctx_out
      + zeros(64),                // 64 flags, cpu, batch_size and the rest
    ));
  });

  test('with everything zero, only repeat is set', () => {
    const a = encodeTestRun(0, { dataIn: 0n, dataInBytes: 0, dataOut: 0n, dataOutBytes: 0, ctxIn: 0n, ctxInBytes: 0 });
    expect(a).toHaveLength(128);
    expect(nonZero(a)).toEqual([32]);
    expect(a.readUInt32LE(32)).toBe(1);
  });
});

describe('decodeTestRun', () => {
  test.each<[string, number, number]>([
    ['ff ff ff ff', -1, 0x0000_0036], // TCX_NEXT
    ['07 00 00 00', 7, 0x0000_0136],
    ['00 00 00 80', -0x8000_0000, 0xffff_ffff],
  ])('retval %s', (retval, expected, outBytes) => {
    const a = Buffer.alloc(128, 0xee); // fields it must not read
    hex(retval).copy(a, 4);
    a.writeUInt32LE(outBytes, 12);
    expect(decodeTestRun(a)).toEqual({ retval: expected, dataOutBytes: outBytes });
  });

  test('before the kernel writes, data_size_out is what was offered', () => {
    const a = encodeTestRun(3, { dataIn: P1, dataInBytes: 60, dataOut: P2, dataOutBytes: 316, ctxIn: P3, ctxInBytes: 192 });
    expect(decodeTestRun(a)).toEqual({ retval: 0, dataOutBytes: 316 });
  });
});

describe('verifierTail', () => {
  const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

  test.each<[string, Buffer, string]>([
    ['stops at the first NUL', buf('R0 !read_ok\0old log text\0'), 'R0 !read_ok'],
    ['takes the whole buffer without a NUL', buf('invalid mem access'), 'invalid mem access'],
    ['trims whitespace', buf('\n  0: (b7) r0 = 0\n1: (95) exit\n\n\0'), '0: (b7) r0 = 0\n1: (95) exit'],
    ['empty buffer', Buffer.alloc(0), ''],
    ['all NUL (log never written)', Buffer.alloc(4096), ''],
    ['only whitespace', buf(' \n\t \n\0xyz'), ''],
    ['NUL first', buf('\0junk'), ''],
  ])('%s', (_name, log, expected) => {
    expect(verifierTail(log)).toBe(expected);
  });

  test('keeps the last maxChars behind a leading …', () => {
    expect(verifierTail(buf('0123456789\0'), 4)).toBe('…6789');
    expect(verifierTail(buf('0123456789'), 9)).toBe('…123456789');
  });

  test('not cut at exactly maxChars', () => {
    expect(verifierTail(buf('0123'), 4)).toBe('0123');
    expect(verifierTail(buf('01234'), 4)).toBe('…1234');
  });

  test('trims before cutting: trailing whitespace does not use up maxChars', () => {
    expect(verifierTail(buf('abcdef \n\n \0'), 3)).toBe('…def');
    expect(verifierTail(buf('   abc'), 3)).toBe('abc');
  });

  test('the default keeps 600 characters', () => {
    const log = buf('a'.repeat(100) + 'b'.repeat(600) + '\0');
    expect(verifierTail(log)).toBe('…' + 'b'.repeat(600));
    expect(verifierTail(buf('c'.repeat(600)))).toBe('c'.repeat(600));
  });

  test('decodes UTF-8', () => {
    expect(verifierTail(hex('c3 a9 74 c3 a9 00'))).toBe('été');
  });
});

describe('constants', () => {
  test('uapi values', () => {
    expect(PROG_TYPE_SCHED_CLS).toBe(3);
    // enum bpf_attach_type since 6.6 (BPF_NETFILTER 45, BPF_TCX_INGRESS 46, BPF_TCX_EGRESS 47)
    expect([ATTACH_TCX_INGRESS, ATTACH_TCX_EGRESS]).toEqual([46, 47]);
    expect([TCX_NEXT, TCX_PASS, TCX_DROP, TCX_REDIRECT]).toEqual([-1, 0, 2, 7]);
    // offsetof(struct __sk_buff, hwtstamp) + 8 == sizeof(struct __sk_buff)
    expect(SK_BUFF_BYTES).toBe(192);
  });
});
