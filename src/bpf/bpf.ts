/**
 * The bpf(2) calls weft makes: load a program, attach it to a device's tcx hook through a link,
 * and run it on a test packet. `union bpf_attr` is laid out here (include/uapi/linux/bpf.h);
 * pointers inside it are the addresses of Buffers kept alive across the call (buffer2address).
 *
 * The encoders are pure and unit-tested; the calls need CAP_BPF/CAP_NET_ADMIN and a kernel
 * with tcx (6.6 or later), and are tested in throw-away namespaces.
 */
import { syscallSync, SyscallError, cPath } from '../util/syscall';

const CMD = { progLoad: 5n, progTestRun: 10n, linkCreate: 28n } as const;

export const PROG_TYPE_SCHED_CLS = 3;
export const ATTACH_TCX_INGRESS = 46;
export const ATTACH_TCX_EGRESS = 47;

/** tcx verdicts: NEXT hands the packet to the next program on the hook, then to the stack */
export const TCX_NEXT = -1;
export const TCX_PASS = 0;
export const TCX_DROP = 2;
export const TCX_REDIRECT = 7;

/** the size of `union bpf_attr` sent: the kernel zero-fills what a smaller one lacks, and takes a larger one if its tail is zero */
const ATTR_BYTES = 128;
const NAME_BYTES = 16;
/** sizeof(struct __sk_buff) up to and including hwtstamp */
export const SK_BUFF_BYTES = 192;

interface AddressOf {
  buffer2address(b: Buffer): bigint;
}
let addressOf: AddressOf | undefined;

function address(b: Buffer): bigint {
  if (!addressOf) {
    // buffer2address's entry point is an ES module; its compiled binding is plain CommonJS
    addressOf = require('buffer2address/build/Release/buffer2address.node') as AddressOf;
  }
  return addressOf.buffer2address(b);
}

export interface ProgLoad {
  progType: number;
  insns: Buffer;
  /** must be GPL-compatible for GPL-only helpers (bpf_fib_lookup is one) */
  license: string;
  /** up to 15 bytes, [A-Za-z0-9_.] */
  name: string;
  logLevel: number;
  logSize: number;
}

/** BPF_PROG_LOAD's attr; `ptr`: the addresses of the instructions, the licence and the log buffer */
export function encodeProgLoad(p: ProgLoad, ptr: { insns: bigint; license: bigint; log: bigint }): Buffer {
  if (p.insns.length === 0 || p.insns.length % 8 !== 0) throw new RangeError(`a program is whole 8-byte instructions, not ${p.insns.length} bytes`);
  if (!/^[A-Za-z0-9_.]{0,15}$/.test(p.name)) throw new RangeError(`bad program name ${JSON.stringify(p.name)}: up to 15 of [A-Za-z0-9_.]`);
  const a = Buffer.alloc(ATTR_BYTES);
  a.writeUInt32LE(p.progType, 0);
  a.writeUInt32LE(p.insns.length / 8, 4);
  a.writeBigUInt64LE(ptr.insns, 8);
  a.writeBigUInt64LE(ptr.license, 16);
  a.writeUInt32LE(p.logLevel, 24);
  a.writeUInt32LE(p.logSize, 28);
  a.writeBigUInt64LE(ptr.log, 32);
  a.write(p.name, 48, NAME_BYTES - 1, 'latin1');
  return a;
}

/** BPF_LINK_CREATE's attr for a tcx hook: appended after the programs already there */
export function encodeTcxLink(progFd: number, ifindex: number, attachType: number): Buffer {
  const a = Buffer.alloc(ATTR_BYTES);
  a.writeUInt32LE(progFd, 0);
  a.writeUInt32LE(ifindex, 4);
  a.writeUInt32LE(attachType, 8);
  return a;
}

export interface TestRunBuffers {
  dataIn: bigint;
  dataInBytes: number;
  dataOut: bigint;
  dataOutBytes: number;
  ctxIn: bigint;
  ctxInBytes: number;
}

/** BPF_PROG_TEST_RUN's attr, one repetition */
export function encodeTestRun(progFd: number, b: TestRunBuffers): Buffer {
  const a = Buffer.alloc(ATTR_BYTES);
  a.writeUInt32LE(progFd, 0);
  a.writeUInt32LE(b.dataInBytes, 8);
  a.writeUInt32LE(b.dataOutBytes, 12);
  a.writeBigUInt64LE(b.dataIn, 16);
  a.writeBigUInt64LE(b.dataOut, 24);
  a.writeUInt32LE(1, 32);
  a.writeUInt32LE(b.ctxInBytes, 40);
  a.writeBigUInt64LE(b.ctxIn, 48);
  return a;
}

/** test-run results written back into the attr: the verdict and how much of data_out was filled */
export function decodeTestRun(a: Buffer): { retval: number; dataOutBytes: number } {
  return { retval: a.readInt32LE(4), dataOutBytes: a.readUInt32LE(12) };
}

/** the end of the verifier's log, where it says why it refused: at most maxChars, cut at the front */
export function verifierTail(log: Buffer, maxChars = 600): string {
  const end = log.indexOf(0);
  const text = log.subarray(0, end < 0 ? log.length : end).toString('utf8').trim();
  return text.length <= maxChars ? text : `…${text.slice(text.length - maxChars).trimStart()}`;
}

const LOG_BYTES = 1 << 18;

function fd(v: bigint): number {
  return Number(v);
}

/**
 * Loads a program; returns its fd. A rejected program is loaded again with the verifier's log
 * on, so the error says why (the first try goes without: the log costs time on every load).
 */
export function loadProgram(progType: number, insns: Buffer, license: string, name: string): number {
  const lic = cPath(license);
  const attr = encodeProgLoad({ progType, insns, license, name, logLevel: 0, logSize: 0 }, { insns: address(insns), license: address(lic), log: 0n });
  try {
    return fd(syscallSync('bpf', `PROG_LOAD ${name}`, [CMD.progLoad, attr, BigInt(attr.length)], { 1: 'loading BPF programs needs CAP_BPF or root' }));
  } catch (e) {
    if (!(e instanceof SyscallError) || e.errno === 1) throw e;
    const log = Buffer.alloc(LOG_BYTES);
    const again = encodeProgLoad({ progType, insns, license, name, logLevel: 1, logSize: log.length }, { insns: address(insns), license: address(lic), log: address(log) });
    try {
      return fd(syscallSync('bpf', `PROG_LOAD ${name}`, [CMD.progLoad, again, BigInt(again.length)]));
    } catch (e2) {
      const tail = verifierTail(log);
      throw new SyscallError('bpf', `PROG_LOAD ${name}`, e2 instanceof SyscallError ? e2.text : String(e2), tail === '' ? undefined : `verifier: ${tail}`);
    }
  }
}

/**
 * Attaches a program at a device's tcx hook; the link's fd holds it there until closed (bpf(2) fds are
 * close-on-exec, so the iptables weft runs do not hold them too).
 */
export function attachTcx(progFd: number, ifindex: number, attachType: number, target: string): number {
  const attr = encodeTcxLink(progFd, ifindex, attachType);
  return fd(syscallSync('bpf', `LINK_CREATE tcx on ${target}`, [CMD.linkCreate, attr, BigInt(attr.length)], {
    22: 'the kernel may predate tcx (Linux 6.6)',
    19: 'no such device',
  }));
}

/** Runs a program once on a packet, with the __sk_buff fields given in ctx; returns the verdict and the packet after. */
export function testRun(progFd: number, packet: Buffer, ctx: Buffer): { retval: number; packet: Buffer } {
  const out = Buffer.alloc(packet.length + 256);
  const attr = encodeTestRun(progFd, {
    dataIn: address(packet), dataInBytes: packet.length,
    dataOut: address(out), dataOutBytes: out.length,
    ctxIn: address(ctx), ctxInBytes: ctx.length,
  });
  syscallSync('bpf', 'PROG_TEST_RUN', [CMD.progTestRun, attr, BigInt(attr.length)]);
  const r = decodeTestRun(attr);
  return { retval: r.retval, packet: out.subarray(0, r.dataOutBytes) };
}

/** Closes a program's or a link's fd; closing a link detaches its program. */
export function closeFd(fdNum: number): void {
  syscallSync('close', `bpf fd ${fdNum}`, [BigInt(fdNum)]);
}
