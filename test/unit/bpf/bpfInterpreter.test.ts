/**
 * The test interpreter itself (test/helpers/bpfInterpreter.ts): its arithmetic against values
 * worked out by hand, and the faults by which it stands in for the verifier.
 */
import { type AluOp, Assembler, type JmpOp, R0, R1, R2, R3, R4, R10 } from '../../../src/bpf/asm';
import { BpfFault, CTX_BASE, type Helper, runBpf, type RunOptions, STACK_TOP } from '../../helpers/bpfInterpreter';

const M64 = 0xffff_ffff_ffff_ffffn;

function exec(build: (a: Assembler) => void, opts: Partial<RunOptions> = {}): bigint {
  const a = new Assembler();
  build(a);
  return runBpf(a.assemble(), { packet: Buffer.alloc(0), ...opts }).r0;
}

/** one raw instruction */
function insn(code: number, dst: number, src: number, off: number, imm: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}

describe('bpfInterpreter: ALU', () => {
  // [op, a, b, 64-bit result, 32-bit result]
  test.each<[AluOp, bigint, bigint, bigint, bigint]>([
    ['add', M64, 1n, 0n, 0n],
    ['add', 0xffff_ffffn, 1n, 0x1_0000_0000n, 0n],
    ['sub', 0n, 1n, M64, 0xffff_ffffn],
    ['mul', 0x1_0000_0000n, 2n, 0x2_0000_0000n, 0n],
    ['mul', 0xffff_ffffn, 0xffff_ffffn, 0xffff_fffe_0000_0001n, 1n],
    ['div', 7n, 2n, 3n, 3n],
    ['div', 7n, 0n, 0n, 0n],
    ['div', 0x1_0000_0007n, 0x1_0000_0000n, 1n, 0n], // 32-bit: 7 / 0
    ['mod', 7n, 3n, 1n, 1n],
    ['mod', 0x1_0000_0007n, 0n, 0x1_0000_0007n, 7n],
    ['or', 0xf0n, 0x0fn, 0xffn, 0xffn],
    ['and', 0xff00_ff00_ff00n, 0x0ff0_0ff0_0ff0n, 0x0f00_0f00_0f00n, 0x0f00_0f00n],
    ['xor', M64, 0xffn, M64 - 0xffn, 0xffff_ff00n],
    ['lsh', 1n, 63n, 0x8000_0000_0000_0000n, 0x8000_0000n], // 32-bit: 63 masked to 31
    ['lsh', 3n, 64n, 3n, 3n], // a register's shift is masked
    ['rsh', 0x8000_0000_0000_0000n, 63n, 1n, 0n],
    ['arsh', 0x8000_0000_0000_0000n, 63n, M64, 0n],
    ['arsh', 0x8000_0000n, 31n, 1n, 0xffff_ffffn],
    ['mov', 0n, 0x1234_5678_9abc_def0n, 0x1234_5678_9abc_def0n, 0x9abc_def0n],
  ])('%s 0x%s', (op, x, y, want64, want32) => {
    expect(exec((a) => a.loadImm64(R0, x).loadImm64(R1, y).alu64(op, R0, R1).exit())).toBe(want64);
    expect(exec((a) => a.loadImm64(R0, x).loadImm64(R1, y).alu32(op, R0, R1).exit())).toBe(want32);
  });

  test('an immediate is sign-extended to 64 bits, and cut to 32 in ALU32', () => {
    expect(exec((a) => a.loadImm64(R0, 0n).alu64('add', R0, -1).exit())).toBe(M64);
    expect(exec((a) => a.loadImm64(R0, M64).alu32('and', R0, -1).exit())).toBe(0xffff_ffffn);
    expect(exec((a) => a.alu64('mov', R0, -1).exit())).toBe(M64);
    expect(exec((a) => a.alu32('mov', R0, 0xffff_ffff).exit())).toBe(0xffff_ffffn);
  });

  test('neg', () => {
    const neg = (cls: number): Buffer => Buffer.concat([insn(0xb7, 0, 0, 0, 5), insn(cls | 0x80, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]);
    expect(runBpf(neg(0x07), { packet: Buffer.alloc(0) }).r0).toBe(M64 - 4n);
    expect(runBpf(neg(0x04), { packet: Buffer.alloc(0) }).r0).toBe(0xffff_fffbn);
  });

  test.each<[16 | 32 | 64, bigint]>([
    [16, 0x8877n],
    [32, 0x8877_6655n],
    [64, 0x8877_6655_4433_2211n],
  ])('to_be %i swaps the low bytes and clears the rest', (bits, want) => {
    expect(exec((a) => a.loadImm64(R0, 0x1122_3344_5566_7788n).toBigEndian(R0, bits).exit())).toBe(want);
  });

  test('to_le truncates on a little-endian host; ALU64 END always swaps', () => {
    const prog = (code: number, bits: number): Buffer =>
      Buffer.concat([insn(0x18, 0, 0, 0, 0x7856_3412), insn(0, 0, 0, 0, 0x1234_5678), insn(code, 0, 0, 0, bits), insn(0x95, 0, 0, 0, 0)]);
    expect(runBpf(prog(0xd4, 16), { packet: Buffer.alloc(0) }).r0).toBe(0x3412n);
    expect(runBpf(prog(0xd4, 64), { packet: Buffer.alloc(0) }).r0).toBe(0x1234_5678_7856_3412n);
    expect(runBpf(prog(0xd7, 32), { packet: Buffer.alloc(0) }).r0).toBe(0x1234_5678n);
  });
});

describe('bpfInterpreter: jumps', () => {
  // [op, a, b, taken on 64 bits, taken on the low 32]
  test.each<[JmpOp, bigint, bigint, boolean, boolean]>([
    ['eq', 0x1_0000_0005n, 5n, false, true],
    ['ne', 0x1_0000_0005n, 5n, true, false],
    ['gt', M64, 1n, true, true],
    ['gt', 0x1_0000_0000n, 1n, true, false],
    ['ge', 5n, 5n, true, true],
    ['lt', 1n, M64, true, true],
    ['le', 0x1_0000_0000n, 0n, false, true],
    ['sgt', M64, 1n, false, false],
    ['sgt', 0xffff_ffffn, 1n, true, false],
    ['sge', M64, M64, true, true],
    ['slt', M64, 0n, true, true],
    ['slt', 0x8000_0000n, 0n, false, true],
    ['sle', 1n, 0n, false, false],
    ['set', 0x1_0000_0000n, 0x1_0000_0000n, true, false],
  ])('%s', (op, x, y, t64, t32) => {
    const prog = (wide: boolean) => (a: Assembler) => {
      a.loadImm64(R1, x).loadImm64(R2, y).alu64('mov', R0, 0);
      if (wide) a.jump64(op, R1, R2, 'yes');
      else a.jump32(op, R1, R2, 'yes');
      a.exit().label('yes').alu64('mov', R0, 1).exit();
    };
    expect(exec(prog(true))).toBe(t64 ? 1n : 0n);
    expect(exec(prog(false))).toBe(t32 ? 1n : 0n);
  });

  test('goto skips forward; an immediate compares sign-extended', () => {
    expect(exec((a) => a.alu64('mov', R0, 1).goto('end').alu64('mov', R0, 2).label('end').exit())).toBe(1n);
    expect(exec((a) => a.alu64('mov', R0, 0).loadImm64(R1, M64).jump64('eq', R1, -1, 'y').exit().label('y').alu64('mov', R0, 1).exit())).toBe(1n);
  });
});

describe('bpfInterpreter: memory', () => {
  test('stack stores and loads of every size are little-endian', () => {
    const r = exec((a) =>
      a.loadImm64(R1, 0x1122_3344_5566_7788n).store('u64', R10, -8, R1).store('u8', R10, -8, 0xaa).store('u16', R10, -6, 0xbbcc)
        .load('u64', R0, R10, -8).exit());
    expect(r).toBe(0x1122_3344_bbcc_77aan);
  });

  test('the packet: data and data_end from the context, bytes read after a bounds check', () => {
    const packet = Buffer.from([1, 2, 3, 4, 5]);
    const r = exec(
      (a) => a.load('u32', R2, R1, 76).load('u32', R3, R1, 80).alu64('mov', R0, 0).alu64('mov', R4, R2).alu64('add', R4, 4)
        .jump64('gt', R4, R3, 'out').load('u32', R0, R2, 0).label('out').exit(),
      { packet },
    );
    expect(r).toBe(0x0403_0201n);
  });

  test('helpers: clobber r1-r5, see the context and the stack', () => {
    const seen: bigint[] = [];
    const helper: Helper = (_id, r1, r2, _r3, _r4, _r5, mem) => {
      seen.push(r1, r2);
      mem.view(r2, 8).writeUInt32LE(0xabcd, 0);
      return 9n;
    };
    const r = exec((a) => a.store('u64', R10, -8, 0).alu64('mov', R2, R10).alu64('add', R2, -8).call(1).load('u64', R0, R10, -8).exit(), { helper });
    expect(r).toBe(0xabcdn);
    expect(seen).toEqual([CTX_BASE, STACK_TOP - 8n]);
    expect(exec((a) => a.call(1).exit(), { helper: () => 9n })).toBe(9n);
    expect(() => exec((a) => a.call(1).alu64('mov', R0, R1).exit(), { helper: () => 0n })).toThrow(/r1 read before/);
  });

  const packet = Buffer.alloc(20);
  const loadData = (a: Assembler): Assembler => a.load('u32', R2, R1, 76).load('u32', R3, R1, 80);
  test.each<[string, (a: Assembler) => void, RegExp]>([
    ['a packet read with no bounds check', (a) => loadData(a).load('u8', R0, R2, 0).exit(), /proven/],
    ['a packet read past the bound checked', (a) => loadData(a).alu64('mov', R4, R2).alu64('add', R4, 4).jump64('gt', R4, R3, 'x').load('u32', R0, R2, 1).label('x').exit(), /proven/],
    ['the branch where the check failed', (a) => loadData(a).alu64('mov', R4, R2).alu64('add', R4, 24).jump64('le', R4, R3, 'x').load('u8', R0, R2, 0).label('x').exit(), /proven/],
    ['a packet read past data_end', (a) => loadData(a).alu64('mov', R4, R2).alu64('add', R4, 24).jump64('gt', R4, R3, 'x').label('x').load('u8', R0, R2, 21).exit(), /data_end/],
    ['a fresh data pointer knows no bound', (a) => loadData(a).alu64('mov', R4, R2).alu64('add', R4, 4).jump64('gt', R4, R3, 'x').load('u32', R2, R1, 76).load('u8', R0, R2, 0).label('x').exit(), /proven/],
    ['uninitialised stack', (a) => a.load('u64', R0, R10, -8).exit(), /uninitialised/],
    ['misaligned stack', (a) => a.store('u64', R10, -16, 0).store('u64', R10, -8, 0).load('u32', R0, R10, -10).exit(), /misaligned/],
    ['below the stack', (a) => a.store('u64', R10, -520, 0).exit(), /outside the stack/],
    ['above the stack', (a) => a.store('u8', R10, 0, 0).exit(), /outside the stack/],
    ['a scalar dereferenced', (a) => a.alu64('mov', R2, 0x1000).load('u8', R0, R2, 0).exit(), /not a pointer/],
    ['32-bit pointer arithmetic', (a) => a.alu64('mov', R2, R10).alu32('add', R2, 1).exit(), /32-bit/],
    ['a context field not supplied', (a) => a.load('u32', R0, R1, 0).exit(), /not supplied/],
    ['a context field of the wrong size', (a) => a.load('u16', R0, R1, 76).exit(), /size/],
    ['a write to the context', (a) => a.store('u32', R1, 8, 0).exit(), /write to the context/],
    ['exit with r0 unset', (a) => a.exit(), /r0 unset/],
    ['exit with a pointer', (a) => a.alu64('mov', R0, R10).exit(), /pointer in r0/],
    ['a loop', (a) => a.label('l').goto('l'), /more than/],
    ['a call with no helper', (a) => a.call(1).exit(), /no helper/],
  ])('faults on %s', (_name, build, message) => {
    expect(() => exec(build, { packet })).toThrow(BpfFault);
    expect(() => exec(build, { packet })).toThrow(message);
  });
});
