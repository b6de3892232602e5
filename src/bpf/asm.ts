/**
 * An assembler for eBPF instructions (the kernel's Documentation/bpf/standardization/instruction-set.rst):
 * weft builds its few small programs here instead of shipping an object file, since this
 * machine (and the image) has no clang, and a program built at run time can carry its
 * network's constants (subnet, underlay device) as immediates, with no map to fill.
 *
 * Pure: instructions in, bytes out. Jumps go to named labels, resolved by `assemble()`.
 */

/** a register; R10 is the read-only frame pointer */
export interface Reg {
  readonly reg: number;
}
const reg = (n: number): Reg => Object.freeze({ reg: n });
export const R0 = reg(0);
export const R1 = reg(1);
export const R2 = reg(2);
export const R3 = reg(3);
export const R4 = reg(4);
export const R5 = reg(5);
export const R6 = reg(6);
export const R7 = reg(7);
export const R8 = reg(8);
export const R9 = reg(9);
export const R10 = reg(10);

/**
 * a register, or an immediate: in a 32-bit operation any value that fits 32 bits (signed or not); in a
 * 64-bit one a signed 32-bit value only, since the kernel sign-extends it (0xffffffff would mean -1)
 */
export type Operand = Reg | number;

export type Size = 'u8' | 'u16' | 'u32' | 'u64';
export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'xor' | 'mov' | 'arsh';
export type JmpOp = 'eq' | 'gt' | 'ge' | 'set' | 'ne' | 'sgt' | 'sge' | 'lt' | 'le' | 'slt' | 'sle';

const CLASS = { ld: 0x00, ldx: 0x01, st: 0x02, stx: 0x03, alu: 0x04, jmp: 0x05, jmp32: 0x06, alu64: 0x07 } as const;
const SIZE: Readonly<Record<Size, number>> = { u32: 0x00, u16: 0x08, u8: 0x10, u64: 0x18 };
const MODE_IMM = 0x00;
const MODE_MEM = 0x60;
const SRC_K = 0x00;
const SRC_X = 0x08;
const ALU: Readonly<Record<AluOp, number>> = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0,
};
const ALU_END = 0xd0;
const JMP: Readonly<Record<JmpOp, number>> = {
  eq: 0x10, gt: 0x20, ge: 0x30, set: 0x40, ne: 0x50, sgt: 0x60, sge: 0x70,
  lt: 0xa0, le: 0xb0, slt: 0xc0, sle: 0xd0,
};
const JMP_JA = 0x00;
const JMP_CALL = 0x80;
const JMP_EXIT = 0x90;

/** bytes per instruction slot; a 64-bit immediate load takes two */
export const INSN_BYTES = 8;

export class AsmError extends Error {
  override readonly name = 'AsmError';
}

interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** a jump whose offset is filled in from this label */
  target?: string;
}

function imm32(v: number, what: string, signed = false): number {
  const max = signed ? 0x7fff_ffff : 0xffff_ffff;
  if (!Number.isInteger(v) || v < -0x8000_0000 || v > max) {
    throw new AsmError(`${what}: immediate ${v} does not fit ${signed ? 'a signed 32-bit value (sign-extended to 64 bits)' : '32 bits'}`);
  }
  return v | 0;
}

/** an entry of an opcode table; a value outside the types (an untyped caller) is refused, not encoded as 0 */
function opcode<K extends string>(table: Readonly<Record<K, number>>, key: K, what: string): number {
  const v = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
  if (v === undefined) throw new AsmError(`${what}: no such operation or size ${JSON.stringify(key)}`);
  return v;
}

function off16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new AsmError(`${what}: offset ${v} does not fit 16 bits`);
  return v;
}

function checkReg(r: Reg, what: string, writable: boolean): number {
  if (!Number.isInteger(r.reg) || r.reg < 0 || r.reg > 10) throw new AsmError(`${what}: no register r${r.reg}`);
  if (writable && r.reg === 10) throw new AsmError(`${what}: r10 is read-only`);
  return r.reg;
}

export class Assembler {
  private readonly slots: Slot[] = [];
  private readonly labels = new Map<string, number>();

  /** the number of instruction slots so far */
  get length(): number {
    return this.slots.length;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new AsmError(`label ${name} defined twice`);
    this.labels.set(name, this.slots.length);
    return this;
  }

  /** dst = dst OP operand, on all 64 bits */
  alu64(op: AluOp, dst: Reg, operand: Operand): this {
    return this.alu(CLASS.alu64, op, dst, operand);
  }

  /** dst = dst OP operand on the low 32 bits; the upper 32 become zero */
  alu32(op: AluOp, dst: Reg, operand: Operand): this {
    return this.alu(CLASS.alu, op, dst, operand);
  }

  /** dst = its low `bits` in big-endian (network) order, upper bits zero: a byte swap on a little-endian host */
  toBigEndian(dst: Reg, bits: 16 | 32 | 64): this {
    if (bits !== 16 && bits !== 32 && bits !== 64) throw new AsmError(`be: ${String(bits)} bits, not 16, 32 or 64`);
    return this.push({ code: CLASS.alu | ALU_END | SRC_X, dst: checkReg(dst, 'be', true), src: 0, off: 0, imm: bits });
  }

  /** dst = *(size *)(src + off) */
  load(size: Size, dst: Reg, src: Reg, off: number): this {
    const what = `load ${size}`;
    return this.push({ code: CLASS.ldx | MODE_MEM | opcode(SIZE, size, what), dst: checkReg(dst, what, true), src: checkReg(src, what, false), off: off16(off, what), imm: 0 });
  }

  /** *(size *)(dst + off) = value (a register, or an immediate) */
  store(size: Size, dst: Reg, off: number, value: Operand): this {
    const what = `store ${size}`;
    const base = checkReg(dst, what, false);
    const sz = opcode(SIZE, size, what);
    if (typeof value === 'number') {
      return this.push({ code: CLASS.st | MODE_MEM | sz, dst: base, src: 0, off: off16(off, what), imm: imm32(value, what, size === 'u64') });
    }
    return this.push({ code: CLASS.stx | MODE_MEM | sz, dst: base, src: checkReg(value, what, false), off: off16(off, what), imm: 0 });
  }

  /** dst = a 64-bit constant (two slots) */
  loadImm64(dst: Reg, value: bigint): this {
    if (value < -(1n << 63n) || value >= 1n << 64n) throw new AsmError(`lddw: ${value} does not fit 64 bits`);
    const u = BigInt.asUintN(64, value);
    const d = checkReg(dst, 'lddw', true);
    this.push({ code: CLASS.ld | MODE_IMM | SIZE.u64, dst: d, src: 0, off: 0, imm: Number(u & 0xffff_ffffn) | 0 });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: Number(u >> 32n) | 0 });
  }

  /** if (dst OP operand), comparing all 64 bits, goto label */
  jump64(op: JmpOp, dst: Reg, operand: Operand, label: string): this {
    return this.cond(CLASS.jmp, op, dst, operand, label);
  }

  /** if (dst OP operand), comparing the low 32 bits, goto label */
  jump32(op: JmpOp, dst: Reg, operand: Operand, label: string): this {
    return this.cond(CLASS.jmp32, op, dst, operand, label);
  }

  goto(label: string): this {
    return this.push({ code: CLASS.jmp | JMP_JA, dst: 0, src: 0, off: 0, imm: 0, target: label });
  }

  /** r0 = helper(r1..r5); r1..r5 are clobbered */
  call(helper: number): this {
    return this.push({ code: CLASS.jmp | JMP_CALL, dst: 0, src: 0, off: 0, imm: imm32(helper, 'call') });
  }

  exit(): this {
    return this.push({ code: CLASS.jmp | JMP_EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** the program's bytes; every label used must be defined */
  assemble(): Buffer {
    const out = Buffer.alloc(this.slots.length * INSN_BYTES);
    this.slots.forEach((s, i) => {
      let off = s.off;
      if (s.target !== undefined) {
        const at = this.labels.get(s.target);
        if (at === undefined) throw new AsmError(`jump to undefined label ${s.target}`);
        off = off16(at - (i + 1), `jump to ${s.target}`);
      }
      const o = i * INSN_BYTES;
      out.writeUInt8(s.code, o);
      out.writeUInt8(((s.src & 0xf) << 4) | (s.dst & 0xf), o + 1);
      out.writeInt16LE(off, o + 2);
      out.writeInt32LE(s.imm, o + 4);
    });
    return out;
  }

  private alu(cls: number, op: AluOp, dst: Reg, operand: Operand): this {
    const what = `${cls === CLASS.alu64 ? 'alu64' : 'alu32'} ${op}`;
    const code = opcode(ALU, op, what);
    const d = checkReg(dst, what, true);
    if (typeof operand === 'number') return this.push({ code: cls | code | SRC_K, dst: d, src: 0, off: 0, imm: imm32(operand, what, cls === CLASS.alu64) });
    return this.push({ code: cls | code | SRC_X, dst: d, src: checkReg(operand, what, false), off: 0, imm: 0 });
  }

  private cond(cls: number, op: JmpOp, dst: Reg, operand: Operand, label: string): this {
    const what = `${cls === CLASS.jmp ? 'jump64' : 'jump32'} ${op}`;
    const code = opcode(JMP, op, what);
    const d = checkReg(dst, what, false);
    if (typeof operand === 'number') return this.push({ code: cls | code | SRC_K, dst: d, src: 0, off: 0, imm: imm32(operand, what, cls === CLASS.jmp), target: label });
    return this.push({ code: cls | code | SRC_X, dst: d, src: checkReg(operand, what, false), off: 0, imm: 0, target: label });
  }

  private push(s: Slot): this {
    this.slots.push(s);
    return this;
  }
}
