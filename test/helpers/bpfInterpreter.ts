/**
 * A small eBPF interpreter for unit tests of the programs src/bpf/asm.ts builds, written from the
 * kernel's instruction-set document, not from the assembler. It runs one tc program on one packet.
 *
 * Memory is three regions at distinct base addresses (all above 2^32, so a pointer put through
 * 32-bit arithmetic no longer points anywhere): the context (`struct __sk_buff`, read-only, only
 * the fields the test supplies), the packet, and a 512-byte stack (r10 = its top). Besides the
 * values, each register carries what the verifier would know of it (ctx, stack, packet, packet
 * end or scalar), and the interpreter throws where the verifier would have refused the program:
 * a dereference of a scalar, a packet access beyond what a comparison with data_end proved on
 * this path, a misaligned or uninitialised stack read, a register read before it was written
 * (including r1-r5 after a call), pointer arithmetic other than add/sub, a loop past the step cap.
 * It checks only the path taken; the verifier checks them all.
 */

export const CTX_BASE = 0x1_0000_0000n;
export const PKT_BASE = 0x2_0000_0000n;
export const STACK_BASE = 0x3_0000_0000n;
export const STACK_BYTES = 512;
export const STACK_TOP = STACK_BASE + BigInt(STACK_BYTES);
/** what r1-r5 hold after a call; reading them throws anyway */
export const POISON = 0xdead_beef_dead_beefn;

/** struct __sk_buff offsets the interpreter knows */
export const SKB = { len: 0, pktType: 4, mark: 8, ingressIfindex: 36, ifindex: 40, data: 76, dataEnd: 80 } as const;

export class BpfFault extends Error {
  override readonly name = 'BpfFault';
}

/** what a helper may touch: a view of memory the program pointed it at */
export interface HelperMemory {
  readonly ctx: bigint;
  readonly stackTop: bigint;
  /** the packet as the program sees it at the moment of the call */
  readonly packet: Buffer;
  /** `len` bytes at `addr`, read/write, bounds-checked (stack bytes must be initialised, as for ARG_PTR_TO_MEM) */
  view(addr: bigint, len: number): Buffer;
}

export type Helper = (id: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, mem: HelperMemory) => bigint;

export interface HelperCall {
  id: number;
  /** r1..r5 at the call */
  args: bigint[];
}

export interface RunOptions {
  packet: Buffer;
  ingressIfindex?: number;
  /** other u32 fields of the context, by offset */
  ctxFields?: Readonly<Record<number, number>>;
  helper?: Helper;
  maxSteps?: number;
}

export interface RunResult {
  r0: bigint;
  /** r0's low 32 bits, signed: the tc verdict */
  verdict: number;
  /** the packet after the run (the input is not touched) */
  packet: Buffer;
  calls: HelperCall[];
  steps: number;
}

type Tag =
  | { kind: 'scalar' }
  | { kind: 'ctx' }
  | { kind: 'stack' }
  | { kind: 'pkt'; id: number }
  | { kind: 'pkt_end' };

const SCALAR: Tag = { kind: 'scalar' };
const U64 = (1n << 64n) - 1n;
const U32 = (1n << 32n) - 1n;
const SIZES: Readonly<Record<number, number>> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

const u64 = (v: bigint): bigint => v & U64;
const u32 = (v: bigint): bigint => v & U32;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);

function bswap(v: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

function decode(prog: Buffer, pc: number): Insn {
  const o = pc * 8;
  if (pc < 0 || o + 8 > prog.length) throw new BpfFault(`pc ${pc} outside the program (${prog.length / 8} slots)`);
  const regs = prog.readUInt8(o + 1);
  return { code: prog.readUInt8(o), dst: regs & 0xf, src: regs >> 4, off: prog.readInt16LE(o + 2), imm: prog.readInt32LE(o + 4) };
}

export function runBpf(prog: Buffer, opts: RunOptions): RunResult {
  if (prog.length === 0 || prog.length % 8 !== 0) throw new BpfFault(`program of ${prog.length} bytes`);
  const pkt = Buffer.from(opts.packet);
  const dataEnd = PKT_BASE + BigInt(pkt.length);
  const stack = Buffer.alloc(STACK_BYTES);
  const stackInit = new Uint8Array(STACK_BYTES);
  /** spilled pointers, by stack offset (8-aligned u64 slots) */
  const spills = new Map<number, Tag>();
  const ctxFields = new Map<number, number>(Object.entries(opts.ctxFields ?? {}).map(([k, v]) => [Number(k), v]));
  if (opts.ingressIfindex !== undefined) ctxFields.set(SKB.ingressIfindex, opts.ingressIfindex);
  /** per packet-pointer id: bytes from data proven to lie before data_end */
  const proven = new Map<number, bigint>();
  let nextPktId = 1;

  const reg: bigint[] = new Array<bigint>(11).fill(0n);
  const tag: Tag[] = new Array<Tag>(11).fill(SCALAR);
  const readable: boolean[] = new Array<boolean>(11).fill(false);
  reg[1] = CTX_BASE;
  tag[1] = { kind: 'ctx' };
  readable[1] = true;
  reg[10] = STACK_TOP;
  tag[10] = { kind: 'stack' };
  readable[10] = true;

  const calls: HelperCall[] = [];
  const maxSteps = opts.maxSteps ?? 10_000;
  let pc = 0;
  let steps = 0;

  const fault = (msg: string): never => {
    throw new BpfFault(`pc ${pc}: ${msg}`);
  };
  const get = (r: number): bigint => {
    if (r > 10) fault(`no register r${r}`);
    if (!readable[r]) fault(`r${r} read before it was written`);
    return reg[r]!;
  };
  const set = (r: number, v: bigint, t: Tag = SCALAR): void => {
    if (r >= 10) fault(`r${r} is not writable`);
    reg[r] = u64(v);
    tag[r] = t;
    readable[r] = true;
  };
  const isPtr = (t: Tag): boolean => t.kind !== 'scalar';

  /** where an access of `size` bytes through register `base` + off lands: region and offset in it */
  const locate = (base: number, off: number, size: number, write: boolean): { region: 'ctx' | 'stack' | 'pkt'; at: number } => {
    const addr = u64(get(base) + BigInt(off));
    const t = tag[base]!;
    switch (t.kind) {
      case 'ctx': {
        const at = addr - CTX_BASE;
        if (at < 0n || at >= 192n) fault(`ctx access at ${at} outside struct __sk_buff`);
        if (write) fault('write to the context');
        return { region: 'ctx', at: Number(at) };
      }
      case 'stack': {
        const at = addr - STACK_BASE;
        if (at < 0n || at + BigInt(size) > BigInt(STACK_BYTES)) fault(`stack access at r10${Number(at) - STACK_BYTES} size ${size} outside the stack`);
        if (Number(at) % size !== 0) fault(`misaligned stack access at r10${Number(at) - STACK_BYTES} size ${size}`);
        return { region: 'stack', at: Number(at) };
      }
      case 'pkt': {
        const at = addr - PKT_BASE;
        if (at < 0n || addr + BigInt(size) > dataEnd) fault(`packet access at ${at} size ${size} past data_end (${pkt.length} bytes)`);
        const ok = proven.get(t.id) ?? 0n;
        if (at + BigInt(size) > ok) fault(`packet access at ${at} size ${size} beyond the ${ok} bytes proven against data_end`);
        return { region: 'pkt', at: Number(at) };
      }
      default:
        return fault(`r${base} (${t.kind}) is not a pointer to memory`);
    }
  };

  const load = (base: number, off: number, size: number): { v: bigint; t: Tag } => {
    const { region, at } = locate(base, off, size, false);
    if (region === 'ctx') {
      if (size !== 4) fault(`ctx field at ${at} read with size ${size}`);
      if (at === SKB.data) return { v: PKT_BASE, t: { kind: 'pkt', id: nextPktId++ } };
      if (at === SKB.dataEnd) return { v: dataEnd, t: { kind: 'pkt_end' } };
      const f = ctxFields.get(at);
      if (f === undefined) fault(`ctx field at ${at} not supplied by the test`);
      return { v: BigInt(f! >>> 0), t: SCALAR };
    }
    if (region === 'stack') {
      for (let i = 0; i < size; i++) if (!stackInit[at + i]) fault(`read of uninitialised stack r10${at + i - STACK_BYTES}`);
      const spilled = spills.get(at - (at % 8));
      if (spilled) {
        if (size !== 8) fault(`partial read of a spilled pointer at r10${at - STACK_BYTES}`);
        return { v: stack.readBigUInt64LE(at), t: spilled };
      }
      return { v: readLE(stack, at, size), t: SCALAR };
    }
    return { v: readLE(pkt, at, size), t: SCALAR };
  };

  const store = (base: number, off: number, size: number, v: bigint, t: Tag): void => {
    const { region, at } = locate(base, off, size, true);
    const buf = region === 'stack' ? stack : pkt;
    if (region === 'stack') {
      for (let s = at - (at % 8); s < at + size; s += 8) spills.delete(s);
      stackInit.fill(1, at, at + size);
      if (isPtr(t)) {
        if (size !== 8) fault(`partial spill of a pointer to r10${at - STACK_BYTES}`);
        spills.set(at, t);
      }
    } else if (isPtr(t)) {
      fault('a pointer stored into the packet');
    }
    writeLE(buf, at, size, v);
  };

  const mem: HelperMemory = {
    ctx: CTX_BASE,
    stackTop: STACK_TOP,
    packet: pkt,
    view(addr: bigint, len: number): Buffer {
      if (addr >= STACK_BASE && addr + BigInt(len) <= STACK_TOP) {
        const at = Number(addr - STACK_BASE);
        for (let i = 0; i < len; i++) if (!stackInit[at + i]) throw new BpfFault(`helper given uninitialised stack r10${at + i - STACK_BYTES}`);
        for (let s = at - (at % 8); s < at + len; s += 8) spills.delete(s);
        return stack.subarray(at, at + len);
      }
      if (addr >= PKT_BASE && addr + BigInt(len) <= dataEnd) return pkt.subarray(Number(addr - PKT_BASE), Number(addr - PKT_BASE) + len);
      throw new BpfFault(`helper memory ${addr.toString(16)}+${len} is in no region`);
    },
  };

  for (;;) {
    if (++steps > maxSteps) fault(`more than ${maxSteps} instructions executed`);
    const i = decode(prog, pc);
    const cls = i.code & 0x07;
    switch (cls) {
      case 0x07: // ALU64
      case 0x04: // ALU
        alu(i, cls === 0x07);
        pc++;
        break;
      case 0x00: {
        // LD: only the 64-bit immediate
        if (i.code !== 0x18 || i.src !== 0) fault(`unsupported ld 0x${i.code.toString(16)} src ${i.src}`);
        const next = decode(prog, pc + 1);
        if (next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) fault('lddw without its second slot');
        set(i.dst, (BigInt(next.imm >>> 0) << 32n) | BigInt(i.imm >>> 0));
        pc += 2;
        break;
      }
      case 0x01: {
        // LDX
        if ((i.code & 0xe0) !== 0x60) fault(`unsupported ldx mode 0x${i.code.toString(16)}`);
        if (i.dst === 10) fault('load into r10');
        const { v, t } = load(i.src, i.off, SIZES[i.code & 0x18]!);
        set(i.dst, v, t);
        pc++;
        break;
      }
      case 0x02:
      case 0x03: {
        // ST / STX
        if ((i.code & 0xe0) !== 0x60) fault(`unsupported st/stx mode 0x${i.code.toString(16)}`);
        const size = SIZES[i.code & 0x18]!;
        if (cls === 0x02) store(i.dst, i.off, size, u64(BigInt(i.imm)), SCALAR);
        else store(i.dst, i.off, size, get(i.src), tag[i.src]!);
        pc++;
        break;
      }
      case 0x05:
      case 0x06: {
        const op = i.code & 0xf0;
        if (cls === 0x05 && op === 0x00) {
          if (i.src !== 0 || i.dst !== 0 || i.imm !== 0) fault('malformed ja');
          pc += 1 + i.off;
          break;
        }
        if (cls === 0x05 && op === 0x90) {
          if (!readable[0]) fault('exit with r0 unset');
          if (isPtr(tag[0]!)) fault('exit with a pointer in r0');
          const r0 = reg[0]!;
          return { r0, verdict: Number(s32(r0)), packet: pkt, calls, steps };
        }
        if (cls === 0x05 && op === 0x80) {
          if (i.src !== 0) fault(`unsupported call kind src=${i.src}`);
          if (!opts.helper) fault(`call to helper ${i.imm} with no helper supplied`);
          // a helper takes what its prototype says; unread registers are passed as the poison value
          const args = [1, 2, 3, 4, 5].map((r) => (readable[r] ? reg[r]! : POISON));
          calls.push({ id: i.imm, args });
          const r0 = opts.helper!(i.imm, args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, mem);
          for (let r = 1; r <= 5; r++) {
            reg[r] = POISON;
            tag[r] = SCALAR;
            readable[r] = false;
          }
          set(0, BigInt.asUintN(64, r0));
          pc++;
          break;
        }
        if (op === 0xe0 || op === 0xf0 || op === 0x80 || op === 0x90 || op === 0x00) fault(`unsupported jump 0x${i.code.toString(16)}`);
        if (jump(i, cls === 0x05)) pc += 1 + i.off;
        else pc++;
        break;
      }
      default:
        fault(`unsupported opcode 0x${i.code.toString(16)}`);
    }
  }

  function alu(i: Insn, wide: boolean): void {
    const op = i.code & 0xf0;
    const useReg = (i.code & 0x08) !== 0;
    if (op === 0xd0) {
      // END: to_le/to_be in ALU, an unconditional swap in ALU64
      if (![16, 32, 64].includes(i.imm)) fault(`byte swap of ${i.imm} bits`);
      if (isPtr(tag[i.dst]!)) fault('byte swap of a pointer');
      const v = get(i.dst);
      const bytes = i.imm / 8;
      const low = v & ((1n << BigInt(i.imm)) - 1n);
      const swap = wide || useReg; // to_be on a little-endian host, or bswap
      set(i.dst, swap ? bswap(low, bytes) : low);
      return;
    }
    if (i.off !== 0) fault(`alu with off ${i.off} (signed div/mod, movsx) unsupported`);
    const dt = op === 0xb0 ? SCALAR : tag[i.dst]!;
    const st = useReg ? tag[i.src]! : SCALAR;
    const a = op === 0xb0 ? 0n : get(i.dst);
    const b = useReg ? get(i.src) : u64(BigInt(i.imm)); // imm sign-extended to 64
    if (isPtr(dt) || isPtr(st)) {
      if (!wide) fault('32-bit arithmetic on a pointer');
      if (op === 0xb0) return set(i.dst, b, st);
      if (dt.kind === 'pkt_end' || st.kind === 'pkt_end') fault('arithmetic on pkt_end');
      if (op === 0x00 && isPtr(dt) && isPtr(st)) fault('pointer + pointer');
      if (op === 0x00) return set(i.dst, a + b, isPtr(dt) ? dt : st);
      if (op === 0x10 && isPtr(dt) && !isPtr(st)) return set(i.dst, a - b, dt);
      if (op === 0x10 && dt.kind === st.kind) return set(i.dst, a - b);
      fault(`alu op 0x${op.toString(16)} on a pointer`);
    }
    if (!wide) {
      const x = u32(a);
      const y = u32(b);
      let r: bigint;
      switch (op) {
        case 0x00: r = x + y; break;
        case 0x10: r = x - y; break;
        case 0x20: r = x * y; break;
        case 0x30: r = y === 0n ? 0n : x / y; break;
        case 0x40: r = x | y; break;
        case 0x50: r = x & y; break;
        case 0x60: r = x << shift(y, 32, useReg); break;
        case 0x70: r = x >> shift(y, 32, useReg); break;
        case 0x80: r = -x; break;
        case 0x90: r = y === 0n ? x : x % y; break;
        case 0xa0: r = x ^ y; break;
        case 0xb0: r = y; break;
        case 0xc0: r = s32(x) >> shift(y, 32, useReg); break;
        default: return fault(`unsupported alu32 op 0x${op.toString(16)}`);
      }
      return set(i.dst, u32(r));
    }
    let r: bigint;
    switch (op) {
      case 0x00: r = a + b; break;
      case 0x10: r = a - b; break;
      case 0x20: r = a * b; break;
      case 0x30: r = b === 0n ? 0n : a / b; break;
      case 0x40: r = a | b; break;
      case 0x50: r = a & b; break;
      case 0x60: r = a << shift(b, 64, useReg); break;
      case 0x70: r = a >> shift(b, 64, useReg); break;
      case 0x80: r = -a; break;
      case 0x90: r = b === 0n ? a : a % b; break;
      case 0xa0: r = a ^ b; break;
      case 0xb0: r = b; break;
      case 0xc0: r = s64(a) >> shift(b, 64, useReg); break;
      default: return fault(`unsupported alu64 op 0x${op.toString(16)}`);
    }
    set(i.dst, r);
  }

  /** the verifier refuses a constant shift by the width or more; a register's is masked at run time */
  function shift(by: bigint, width: number, fromReg: boolean): bigint {
    if (!fromReg && (by < 0n || by >= BigInt(width))) fault(`shift by ${s64(by)} of a ${width}-bit value`);
    return by & BigInt(width - 1);
  }

  function jump(i: Insn, wide: boolean): boolean {
    const op = i.code & 0xf0;
    const useReg = (i.code & 0x08) !== 0;
    const dt = tag[i.dst]!;
    const st = useReg ? tag[i.src]! : SCALAR;
    if (!wide && (isPtr(dt) || isPtr(st))) fault('32-bit comparison of a pointer');
    const a = get(i.dst);
    const b = useReg ? get(i.src) : u64(BigInt(i.imm));
    const x = wide ? a : u32(a);
    const y = wide ? b : u32(b);
    const sx = wide ? s64(x) : s32(x);
    const sy = wide ? s64(y) : s32(y);
    let taken: boolean;
    switch (op) {
      case 0x10: taken = x === y; break;
      case 0x20: taken = x > y; break;
      case 0x30: taken = x >= y; break;
      case 0x40: taken = (x & y) !== 0n; break;
      case 0x50: taken = x !== y; break;
      case 0x60: taken = sx > sy; break;
      case 0x70: taken = sx >= sy; break;
      case 0xa0: taken = x < y; break;
      case 0xb0: taken = x <= y; break;
      case 0xc0: taken = sx < sy; break;
      case 0xd0: taken = sx <= sy; break;
      default: return fault(`unsupported jump op 0x${op.toString(16)}`);
    }
    // a packet pointer compared with data_end: the branch followed may prove the bytes before it
    if (useReg && ((dt.kind === 'pkt' && st.kind === 'pkt_end') || (dt.kind === 'pkt_end' && st.kind === 'pkt'))) {
      const ptr = dt.kind === 'pkt' ? a : b;
      const id = dt.kind === 'pkt' ? dt.id : (st as { id: number }).id;
      const NEG: Readonly<Record<number, number>> = { 0x10: 0x50, 0x50: 0x10, 0x20: 0xb0, 0xb0: 0x20, 0x30: 0xa0, 0xa0: 0x30 };
      const holds = taken ? op : NEG[op];
      // holds: (dst holds-op src) is true on the branch followed; does it mean ptr <= data_end?
      const within = dt.kind === 'pkt' ? [0x10, 0xa0, 0xb0] : [0x10, 0x20, 0x30];
      if (holds !== undefined && within.includes(holds)) {
        const len = ptr - PKT_BASE;
        if (len > (proven.get(id) ?? 0n)) proven.set(id, len);
      }
    }
    return taken;
  }
}

function readLE(buf: Buffer, at: number, size: number): bigint {
  switch (size) {
    case 1: return BigInt(buf.readUInt8(at));
    case 2: return BigInt(buf.readUInt16LE(at));
    case 4: return BigInt(buf.readUInt32LE(at));
    default: return buf.readBigUInt64LE(at);
  }
}

function writeLE(buf: Buffer, at: number, size: number, v: bigint): void {
  switch (size) {
    case 1: buf.writeUInt8(Number(v & 0xffn), at); break;
    case 2: buf.writeUInt16LE(Number(v & 0xffffn), at); break;
    case 4: buf.writeUInt32LE(Number(v & U32), at); break;
    default: buf.writeBigUInt64LE(u64(v), at);
  }
}
