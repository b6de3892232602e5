/**
 * The assembler against encodings written out by hand from the kernel's
 * Documentation/bpf/standardization/instruction-set.rst: 8 bytes per slot,
 * opcode u8 | regs u8 (dst low nibble, src high) | off s16 LE | imm s32 LE; lddw takes two slots.
 */
import {
  type AluOp, AsmError, Assembler, INSN_BYTES, type JmpOp, type Reg, type Size,
  R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10,
} from '../../../src/bpf/asm';
import { hex } from '../netlink/hex';

function asm(build: (a: Assembler) => unknown): Buffer {
  const a = new Assembler();
  build(a);
  return a.assemble();
}

/** slot i of a program */
function slot(b: Buffer, i: number): Buffer {
  return b.subarray(i * 8, i * 8 + 8);
}

/** a register object the R constants do not offer */
const bad = (n: number): Reg => ({ reg: n });

describe('reference encodings', () => {
  test.each<[string, (a: Assembler) => unknown, string]>([
    ['mov64 r6, r1', (a) => a.alu64('mov', R6, R1), 'bf 16 00 00 00 00 00 00'],
    ['exit', (a) => a.exit(), '95 00 00 00 00 00 00 00'],
    ['call 69 (fib_lookup)', (a) => a.call(69), '85 00 00 00 45 00 00 00'],
    ['call 155', (a) => a.call(155), '85 00 00 00 9b 00 00 00'],
    ['ldxw r2, [r6+76]', (a) => a.load('u32', R2, R6, 76), '61 62 4c 00 00 00 00 00'],
    ['mov64 r0, -1', (a) => a.alu64('mov', R0, -1), 'b7 00 00 00 ff ff ff ff'],
    ['be16 r4', (a) => a.toBigEndian(R4, 16), 'dc 04 00 00 10 00 00 00'],
    ['stxh [r2+12], r4', (a) => a.store('u16', R2, 12, R4), '6b 42 0c 00 00 00 00 00'],
    ['stdw [r10-64], 0', (a) => a.store('u64', R10, -64, 0), '7a 0a c0 ff 00 00 00 00'],
    ['stb [r10-64], 2', (a) => a.store('u8', R10, -64, 2), '72 0a c0 ff 02 00 00 00'],
    ['ldxb r4, [r2+14]', (a) => a.load('u8', R4, R2, 14), '71 24 0e 00 00 00 00 00'],
    ['ldxh r4, [r10-6]', (a) => a.load('u16', R4, R10, -6), '69 a4 fa ff 00 00 00 00'],
    ['ldxdw r9, [r8+0]', (a) => a.load('u64', R9, R8, 0), '79 89 00 00 00 00 00 00'],
    ['add64 r2, -64', (a) => a.alu64('add', R2, -64), '07 02 00 00 c0 ff ff ff'],
    ['mov64 r2, r10', (a) => a.alu64('mov', R2, R10), 'bf a2 00 00 00 00 00 00'],
    ['mov32 r1, 0x12345678', (a) => a.alu32('mov', R1, 0x12345678), 'b4 01 00 00 78 56 34 12'],
    ['and32 r4, 0xf0', (a) => a.alu32('and', R4, 0xf0), '54 04 00 00 f0 00 00 00'],
    ['sub32 r4, 1', (a) => a.alu32('sub', R4, 1), '14 04 00 00 01 00 00 00'],
    ['mov32 r5, 0xffff0000 (unsigned)', (a) => a.alu32('mov', R5, 0xffff0000), 'b4 05 00 00 00 00 ff ff'],
  ])('%s', (_name, build, bytes) => {
    expect(asm(build)).toEqual(hex(bytes));
  });

  test('jne32 r4, 8 over one slot: 0x56, off 1', () => {
    const b = asm((a) => a.jump32('ne', R4, 0x0008, 'L').exit().label('L').exit());
    expect(b).toEqual(hex('56 04 01 00 08 00 00 00 | 95 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00'));
  });
});

// [K, X] opcodes for BPF_ALU64 (class 7) and BPF_ALU (class 4); a Record so the typecheck fails when an AluOp is left out
const ALU_OPCODES: Record<AluOp, readonly [number, number, number, number]> = {
  //     alu64 K, alu64 X, alu32 K, alu32 X
  add:  [0x07, 0x0f, 0x04, 0x0c],
  sub:  [0x17, 0x1f, 0x14, 0x1c],
  mul:  [0x27, 0x2f, 0x24, 0x2c],
  div:  [0x37, 0x3f, 0x34, 0x3c],
  or:   [0x47, 0x4f, 0x44, 0x4c],
  and:  [0x57, 0x5f, 0x54, 0x5c],
  lsh:  [0x67, 0x6f, 0x64, 0x6c],
  rsh:  [0x77, 0x7f, 0x74, 0x7c],
  mod:  [0x97, 0x9f, 0x94, 0x9c],
  xor:  [0xa7, 0xaf, 0xa4, 0xac],
  mov:  [0xb7, 0xbf, 0xb4, 0xbc],
  arsh: [0xc7, 0xcf, 0xc4, 0xcc],
};

describe('alu opcodes', () => {
  test.each(Object.entries(ALU_OPCODES) as [AluOp, readonly [number, number, number, number]][])(
    '%s',
    (op, [k64, x64, k32, x32]) => {
      expect(asm((a) => a.alu64(op, R3, R7))).toEqual(Buffer.from([x64, 0x73, 0, 0, 0, 0, 0, 0]));
      expect(asm((a) => a.alu64(op, R3, 0x12345678))).toEqual(Buffer.from([k64, 0x03, 0, 0, 0x78, 0x56, 0x34, 0x12]));
      expect(asm((a) => a.alu32(op, R9, R1))).toEqual(Buffer.from([x32, 0x19, 0, 0, 0, 0, 0, 0]));
      expect(asm((a) => a.alu32(op, R9, -2))).toEqual(Buffer.from([k32, 0x09, 0, 0, 0xfe, 0xff, 0xff, 0xff]));
    },
  );

  test('every register number lands in its nibble', () => {
    const regs = [R0, R1, R2, R3, R4, R5, R6, R7, R8, R9];
    regs.forEach((d, i) => {
      expect(asm((a) => a.alu64('mov', d, R10))[1]).toBe(0xa0 | i);
      expect(asm((a) => a.alu64('mov', R0, d))[1]).toBe(i << 4);
    });
  });

  test.each<[number, string]>([
    [-0x8000_0000, '00 00 00 80'],
    [0x7fff_ffff, 'ff ff ff 7f'],
    [0, '00 00 00 00'],
  ])('alu64: immediate %d at the edge of a signed 32-bit value', (imm, bytes) => {
    expect(asm((a) => a.alu64('add', R1, imm))).toEqual(hex(`07 01 00 00 ${bytes}`));
  });

  test.each<[number, string]>([
    [-0x8000_0000, '00 00 00 80'],
    [0x8000_0000, '00 00 00 80'],
    [0xffff_ffff, 'ff ff ff ff'],
  ])('alu32: immediate %d at the edge of 32 bits, signed or not', (imm, bytes) => {
    expect(asm((a) => a.alu32('add', R1, imm))).toEqual(hex(`04 01 00 00 ${bytes}`));
  });

  // the kernel sign-extends a 64-bit op's imm: 0xffffffff there would mean -1 (all 64 bits set), not 2^32 - 1
  test.each<[string, (a: Assembler) => unknown]>([
    ['alu64', (a) => a.alu64('mov', R1, 0xffff_ffff)],
    ['jump64', (a) => a.jump64('eq', R1, 0x8000_0000, 'L')],
    ['store u64', (a) => a.store('u64', R10, -8, 0x8000_0000)],
  ])('%s refuses an unsigned immediate ≥ 2^31', (_what, use) => {
    expect(() => use(new Assembler())).toThrow(/signed 32-bit value/);
  });
});

// [K, X] opcodes for BPF_JMP (class 5) and BPF_JMP32 (class 6)
const JMP_OPCODES: Record<JmpOp, readonly [number, number, number, number]> = {
  //     jmp K, jmp X, jmp32 K, jmp32 X
  eq:  [0x15, 0x1d, 0x16, 0x1e],
  gt:  [0x25, 0x2d, 0x26, 0x2e],
  ge:  [0x35, 0x3d, 0x36, 0x3e],
  set: [0x45, 0x4d, 0x46, 0x4e],
  ne:  [0x55, 0x5d, 0x56, 0x5e],
  sgt: [0x65, 0x6d, 0x66, 0x6e],
  sge: [0x75, 0x7d, 0x76, 0x7e],
  lt:  [0xa5, 0xad, 0xa6, 0xae],
  le:  [0xb5, 0xbd, 0xb6, 0xbe],
  slt: [0xc5, 0xcd, 0xc6, 0xce],
  sle: [0xd5, 0xdd, 0xd6, 0xde],
};

describe('jump opcodes', () => {
  const EXIT = '95 00 00 00 00 00 00 00';
  test.each(Object.entries(JMP_OPCODES) as [JmpOp, readonly [number, number, number, number]][])(
    '%s',
    (op, [k64, x64, k32, x32]) => {
      // each jumps over one exit: off 1
      const tail = (a: Assembler): void => void a.exit().label('L').exit();
      expect(asm((a) => tail(a.jump64(op, R1, R2, 'L')))).toEqual(Buffer.concat([Buffer.from([x64, 0x21, 1, 0, 0, 0, 0, 0]), hex(EXIT + EXIT)]));
      expect(asm((a) => tail(a.jump64(op, R1, -2, 'L')))).toEqual(Buffer.concat([Buffer.from([k64, 0x01, 1, 0, 0xfe, 0xff, 0xff, 0xff]), hex(EXIT + EXIT)]));
      expect(asm((a) => tail(a.jump32(op, R7, R8, 'L')))).toEqual(Buffer.concat([Buffer.from([x32, 0x87, 1, 0, 0, 0, 0, 0]), hex(EXIT + EXIT)]));
      expect(asm((a) => tail(a.jump32(op, R7, 0xabcd, 'L')))).toEqual(Buffer.concat([Buffer.from([k32, 0x07, 1, 0, 0xcd, 0xab, 0, 0]), hex(EXIT + EXIT)]));
    },
  );

  test('goto is ja (0x05), with no registers or imm', () => {
    expect(asm((a) => a.goto('L').label('L').exit())).toEqual(hex('05 00 00 00 00 00 00 00' + EXIT));
  });

  test('comparing the frame pointer is a read, so allowed', () => {
    expect(slot(asm((a) => a.jump64('eq', R10, R1, 'L').label('L').exit()), 0)).toEqual(hex('1d 1a 00 00 00 00 00 00'));
  });
});

// BPF_LDX|BPF_MEM, BPF_ST|BPF_MEM, BPF_STX|BPF_MEM by size (W 0x00, H 0x08, B 0x10, DW 0x18)
const MEM_OPCODES: Record<Size, readonly [number, number, number]> = {
  //    ldx,  st,   stx
  u8:  [0x71, 0x72, 0x73],
  u16: [0x69, 0x6a, 0x6b],
  u32: [0x61, 0x62, 0x63],
  u64: [0x79, 0x7a, 0x7b],
};

describe('loads and stores', () => {
  test.each(Object.entries(MEM_OPCODES) as [Size, readonly [number, number, number]][])('%s', (size, [ldx, st, stx]) => {
    expect(asm((a) => a.load(size, R4, R2, 14))).toEqual(Buffer.from([ldx, 0x24, 0x0e, 0, 0, 0, 0, 0]));
    expect(asm((a) => a.store(size, R10, -8, R4))).toEqual(Buffer.from([stx, 0x4a, 0xf8, 0xff, 0, 0, 0, 0]));
    expect(asm((a) => a.store(size, R10, -8, 0x11223344))).toEqual(Buffer.from([st, 0x0a, 0xf8, 0xff, 0x44, 0x33, 0x22, 0x11]));
    expect(asm((a) => a.store(size, R1, 3, -1))).toEqual(Buffer.from([st, 0x01, 0x03, 0, 0xff, 0xff, 0xff, 0xff]));
  });

  test.each<[number, string]>([
    [0x7fff, 'ff 7f'],
    [-0x8000, '00 80'],
    [-1, 'ff ff'],
    [0, '00 00'],
  ])('offset %d', (off, bytes) => {
    expect(asm((a) => a.load('u32', R0, R1, off))).toEqual(hex(`61 10 ${bytes} 00 00 00 00`));
    expect(asm((a) => a.store('u32', R1, off, R0))).toEqual(hex(`63 01 ${bytes} 00 00 00 00`));
    expect(asm((a) => a.store('u32', R1, off, 5))).toEqual(hex(`62 01 ${bytes} 05 00 00 00`));
  });

  test('the frame pointer may be a base, a source, or a stored value', () => {
    expect(asm((a) => a.load('u64', R1, R10, -8))).toEqual(hex('79 a1 f8 ff 00 00 00 00'));
    expect(asm((a) => a.store('u64', R10, -16, R10))).toEqual(hex('7b aa f0 ff 00 00 00 00'));
  });
});

describe('toBigEndian (BPF_ALU | BPF_END | BPF_TO_BE = 0xdc)', () => {
  test.each<[16 | 32 | 64, Reg, string]>([
    [16, R4, 'dc 04 00 00 10 00 00 00'],
    [32, R0, 'dc 00 00 00 20 00 00 00'],
    [64, R9, 'dc 09 00 00 40 00 00 00'],
  ])('be%d', (bits, r, bytes) => {
    expect(asm((a) => a.toBigEndian(r, bits))).toEqual(hex(bytes));
  });
});

describe('loadImm64 (lddw, 0x18, two slots)', () => {
  // the first slot's imm is the low 32 bits, the second's the high; the second is otherwise zero
  test.each<[bigint, string, string]>([
    [0n, '00 00 00 00', '00 00 00 00'],
    [1n, '01 00 00 00', '00 00 00 00'],
    [0x1122334455667788n, '88 77 66 55', '44 33 22 11'],
    [0x8000_0000n, '00 00 00 80', '00 00 00 00'],
    [0xffff_ffffn, 'ff ff ff ff', '00 00 00 00'],
    [0x1_0000_0000n, '00 00 00 00', '01 00 00 00'],
    [-1n, 'ff ff ff ff', 'ff ff ff ff'],
    [-2n, 'fe ff ff ff', 'ff ff ff ff'],
    [-0x1_0000_0000n, '00 00 00 00', 'ff ff ff ff'],
    [-(1n << 63n), '00 00 00 00', '00 00 00 80'],
    [(1n << 63n) - 1n, 'ff ff ff ff', 'ff ff ff 7f'],
    [1n << 63n, '00 00 00 00', '00 00 00 80'],
    [0xfedc_ba98_7654_3210n, '10 32 54 76', '98 ba dc fe'],
    [(1n << 64n) - 1n, 'ff ff ff ff', 'ff ff ff ff'],
  ])('%s', (v, lo, hi) => {
    expect(asm((a) => a.loadImm64(R3, v))).toEqual(hex(`18 03 00 00 ${lo} | 00 00 00 00 ${hi}`));
  });

  test('takes two slots', () => {
    const a = new Assembler().loadImm64(R1, 5n);
    expect(a.length).toBe(2);
    expect(a.assemble()).toHaveLength(16);
  });

  test.each([1n << 64n, -(1n << 63n) - 1n, 1n << 100n, -(1n << 64n)])('%s does not fit', (v) => {
    const a = new Assembler();
    expect(() => a.loadImm64(R1, v)).toThrow(AsmError);
    expect(() => a.loadImm64(R1, v)).toThrow('does not fit 64 bits');
    expect(a.length).toBe(0);
  });
});

describe('labels', () => {
  const EXIT = '95 00 00 00 00 00 00 00';

  test('forward: off = target - (index + 1)', () => {
    const b = asm((a) => a.goto('L').exit().exit().label('L').exit());
    expect(slot(b, 0)).toEqual(hex('05 00 02 00 00 00 00 00'));
  });

  test('to the very next slot: off 0', () => {
    expect(slot(asm((a) => a.goto('L').label('L').exit()), 0)).toEqual(hex('05 00 00 00 00 00 00 00'));
  });

  test('backward', () => {
    const b = asm((a) => a.label('L').exit().exit().goto('L'));
    expect(slot(b, 2)).toEqual(hex('05 00 fd ff 00 00 00 00')); // 0 - 3
  });

  test('to itself: off -1', () => {
    expect(asm((a) => a.label('L').goto('L'))).toEqual(hex('05 00 ff ff 00 00 00 00'));
  });

  test('a label used before and after, by several jumps', () => {
    const b = asm((a) => a.jump64('eq', R1, 0, 'L').goto('L').label('L').exit().jump32('ne', R2, R3, 'L'));
    expect(b).toEqual(hex(
      '15 01 01 00 00 00 00 00'   // 2 - 1
      + '05 00 00 00 00 00 00 00' // 2 - 2
      + EXIT
      + '5e 32 fe ff 00 00 00 00', // 2 - 4
    ));
  });

  test('forward over an lddw counts its two slots', () => {
    const b = asm((a) => a.jump64('eq', R1, 0, 'L').loadImm64(R2, 0x1_0000_0002n).label('L').exit());
    expect(b).toEqual(hex(
      '15 01 02 00 00 00 00 00'
      + '18 02 00 00 02 00 00 00 | 00 00 00 00 01 00 00 00'
      + EXIT,
    ));
  });

  test('backward over an lddw counts its two slots', () => {
    const b = asm((a) => a.label('L').loadImm64(R2, 7n).goto('L'));
    expect(slot(b, 2)).toEqual(hex('05 00 fd ff 00 00 00 00'));
  });

  test('a label after an lddw points past both its slots', () => {
    const b = asm((a) => a.loadImm64(R2, 7n).label('L').exit().goto('L'));
    expect(slot(b, 3)).toEqual(hex('05 00 fe ff 00 00 00 00')); // 2 - 4
  });

  test('labels emit nothing', () => {
    const a = new Assembler().label('a').label('b');
    expect(a.length).toBe(0);
    expect(a.assemble()).toHaveLength(0);
  });

  test('length counts slots, and the program is 8 bytes per slot', () => {
    const a = new Assembler();
    expect(a.length).toBe(0);
    a.alu64('mov', R0, 0).label('x').loadImm64(R1, 1n).jump64('eq', R0, 0, 'x').call(1).store('u8', R10, -1, 0).exit();
    expect(a.length).toBe(7);
    expect(INSN_BYTES).toBe(8);
    expect(a.assemble()).toHaveLength(56);
  });

  test('assembling twice gives the same bytes', () => {
    const a = new Assembler().goto('end').alu64('mov', R0, 1).label('end').exit();
    expect(a.assemble()).toEqual(a.assemble());
  });

  test('an undefined label fails at assemble()', () => {
    const a = new Assembler().jump32('eq', R1, 0, 'nowhere').exit();
    expect(() => a.assemble()).toThrow(AsmError);
    expect(() => a.assemble()).toThrow('undefined label nowhere');
    expect(() => new Assembler().label('there').goto('Nowhere').assemble()).toThrow(AsmError);
  });

  test('a label defined twice', () => {
    const a = new Assembler().label('L').exit();
    expect(() => a.label('L')).toThrow(AsmError);
    expect(() => a.label('L')).toThrow('label L defined twice');
  });
});

describe('jump range (s16 offset)', () => {
  function exits(a: Assembler, n: number): Assembler {
    for (let i = 0; i < n; i++) a.exit();
    return a;
  }

  test('forward 32767 slots fits', () => {
    const b = exits(new Assembler().goto('far'), 32767).label('far').exit().assemble();
    expect(slot(b, 0)).toEqual(hex('05 00 ff 7f 00 00 00 00'));
  });

  test('forward 32768 slots does not', () => {
    const a = exits(new Assembler().goto('far'), 32768).label('far').exit();
    expect(() => a.assemble()).toThrow(AsmError);
    expect(() => a.assemble()).toThrow('does not fit 16 bits');
  });

  test('backward -32768 fits', () => {
    const b = exits(new Assembler().label('back'), 32767).goto('back').assemble();
    expect(slot(b, 32767)).toEqual(hex('05 00 00 80 00 00 00 00'));
  });

  test('backward -32769 does not', () => {
    const a = exits(new Assembler().label('back'), 32768).goto('back');
    expect(() => a.assemble()).toThrow(AsmError);
  });

  test('a conditional jump too far over lddw slots', () => {
    const a = new Assembler().jump64('eq', R1, 0, 'far');
    for (let i = 0; i < 16384; i++) a.loadImm64(R2, 0n); // 32768 slots
    a.label('far').exit();
    expect(() => a.assemble()).toThrow(AsmError);
  });
});

describe('immediates must fit 32 bits', () => {
  const refused = [2 ** 32, -(2 ** 31) - 1, 1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];
  const uses: [string, (a: Assembler, imm: number) => unknown][] = [
    ['alu64', (a, imm) => a.alu64('add', R1, imm)],
    ['alu32', (a, imm) => a.alu32('mov', R1, imm)],
    ['jump64', (a, imm) => a.jump64('eq', R1, imm, 'L')],
    ['jump32', (a, imm) => a.jump32('gt', R1, imm, 'L')],
    ['store', (a, imm) => a.store('u32', R10, -4, imm)],
    ['call', (a, imm) => a.call(imm)],
  ];
  test.each(uses.flatMap(([name, use]) => refused.map((imm) => [name, imm, use] as const)))('%s %d', (_name, imm, use) => {
    const a = new Assembler();
    expect(() => use(a, imm)).toThrow(AsmError);
    expect(() => use(a, imm)).toThrow(/does not fit (32 bits|a signed 32-bit value)/);
    expect(a.length).toBe(0);
  });
});

test.each<[string, (a: Assembler) => unknown]>([
  ['an ALU op', (a) => a.alu64('neg' as never, R1, 1)],
  ['a jump op', (a) => a.jump64('ja' as never, R1, 1, 'L')],
  ['a size', (a) => a.load('u128' as never, R1, R2, 0)],
  ['a store size', (a) => a.store('u7' as never, R10, -8, 0)],
  ['a byte-swap width', (a) => a.toBigEndian(R1, 8 as never)],
])('an untyped caller\'s unknown %s is refused, not encoded', (_what, use) => {
  const a = new Assembler();
  expect(() => use(a)).toThrow(AsmError);
  expect(a.length).toBe(0);
});

describe('offsets must fit 16 bits', () => {
  test.each([0x8000, -0x8001, 0.5, Number.NaN, 1e6])('%d', (off) => {
    const a = new Assembler();
    expect(() => a.load('u8', R1, R2, off)).toThrow(AsmError);
    expect(() => a.store('u8', R1, off, R2)).toThrow(AsmError);
    expect(() => a.store('u8', R1, off, 0)).toThrow(AsmError);
    expect(() => a.load('u8', R1, R2, off)).toThrow('does not fit 16 bits');
    expect(a.length).toBe(0);
  });
});

describe('registers', () => {
  const outOfRange = [bad(11), bad(-1), bad(1.5), bad(16), bad(Number.NaN)];
  const uses: [string, (a: Assembler, r: Reg) => unknown][] = [
    ['alu64 dst', (a, r) => a.alu64('mov', r, 0)],
    ['alu64 src', (a, r) => a.alu64('mov', R1, r)],
    ['alu32 dst', (a, r) => a.alu32('add', r, R1)],
    ['alu32 src', (a, r) => a.alu32('add', R1, r)],
    ['be dst', (a, r) => a.toBigEndian(r, 32)],
    ['load dst', (a, r) => a.load('u32', r, R1, 0)],
    ['load src', (a, r) => a.load('u32', R1, r, 0)],
    ['store base', (a, r) => a.store('u32', r, 0, R1)],
    ['store value', (a, r) => a.store('u32', R1, 0, r)],
    ['store imm base', (a, r) => a.store('u32', r, 0, 1)],
    ['lddw dst', (a, r) => a.loadImm64(r, 1n)],
    ['jump64 dst', (a, r) => a.jump64('eq', r, 0, 'L')],
    ['jump64 src', (a, r) => a.jump64('eq', R1, r, 'L')],
    ['jump32 dst', (a, r) => a.jump32('eq', r, R1, 'L')],
    ['jump32 src', (a, r) => a.jump32('eq', R1, r, 'L')],
  ];
  test.each(uses.flatMap(([name, use]) => outOfRange.map((r) => [name, r.reg, use, r] as const)))('%s r%d', (_n, _reg, use, r) => {
    const a = new Assembler();
    expect(() => use(a, r)).toThrow(AsmError);
    expect(() => use(a, r)).toThrow('no register');
    expect(a.length).toBe(0);
  });

  // r10, the frame pointer, is read-only
  test.each<[string, (a: Assembler) => unknown]>([
    ['alu64', (a) => a.alu64('mov', R10, R1)],
    ['alu64 imm', (a) => a.alu64('add', R10, -8)],
    ['alu32', (a) => a.alu32('mov', R10, 0)],
    ['be', (a) => a.toBigEndian(R10, 16)],
    ['load', (a) => a.load('u64', R10, R1, 0)],
    ['lddw', (a) => a.loadImm64(R10, 1n)],
  ])('%s into r10 is refused', (_name, use) => {
    const a = new Assembler();
    expect(() => use(a)).toThrow(AsmError);
    expect(() => use(a)).toThrow('r10 is read-only');
    expect(a.length).toBe(0);
  });

  test('AsmError is an Error named AsmError', () => {
    const e = (() => {
      try {
        new Assembler().alu64('mov', R10, 0);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(AsmError);
    expect((e as Error).name).toBe('AsmError');
  });

  test('the register constants are 0..10 and frozen', () => {
    expect([R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10].map((r) => r.reg)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Object.isFrozen(R10)).toBe(true);
  });
});
