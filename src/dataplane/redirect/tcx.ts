/**
 * The port through which the data plane puts redirect programs (./program.ts) on devices: load one
 * per routed subnet, attach it at a device's tcx ingress, close either. The kernel's (bpf(2), through
 * ../../bpf/bpf.ts) and a recording twin for unit tests.
 */
import { type Cidr, formatCidr } from '../../addr/cidr';
import { ATTACH_TCX_INGRESS, attachTcx, closeFd, loadProgram, PROG_TYPE_SCHED_CLS } from '../../bpf/bpf';
import { REDIRECT_LICENSE, redirectProgram } from './program';

export interface TcxPort {
  /** the redirect program for a subnet: a handle (the kernel's: the program's fd) */
  load(subnet: Cidr): number;
  /** the program at a device's tcx ingress, after the programs already there: a handle for the link */
  attach(program: number, ifindex: number): number;
  /** a program's or a link's handle; a closed link takes its program off the device */
  close(handle: number): void;
}

export const kernelTcx: TcxPort = {
  load: (subnet) => loadProgram(PROG_TYPE_SCHED_CLS, redirectProgram(subnet), REDIRECT_LICENSE, 'weft_redirect'),
  attach: (program, ifindex) => attachTcx(program, ifindex, ATTACH_TCX_INGRESS, `ifindex ${ifindex}`),
  close: closeFd,
};

export type TcxCall =
  | { op: 'load'; subnet: string; handle: number }
  | { op: 'attach'; program: number; ifindex: number; handle: number }
  | { op: 'close'; handle: number };

/** records calls and keeps what is open; `fail` makes the next calls of an op throw */
export class RecordingTcx implements TcxPort {
  readonly calls: TcxCall[] = [];
  /** open links: handle → ifindex and program */
  readonly links = new Map<number, { program: number; ifindex: number }>();
  readonly programs = new Map<number, string>();
  fail: Partial<Record<'load' | 'attach', Error>> = {};
  private next = 100;

  load(subnet: Cidr): number {
    if (this.fail.load) throw this.fail.load;
    const handle = this.next++;
    this.programs.set(handle, formatCidr(subnet));
    this.calls.push({ op: 'load', subnet: formatCidr(subnet), handle });
    return handle;
  }

  attach(program: number, ifindex: number): number {
    if (this.fail.attach) throw this.fail.attach;
    if (!this.programs.has(program)) throw new Error(`attach of a program not open: ${program}`);
    const handle = this.next++;
    this.links.set(handle, { program, ifindex });
    this.calls.push({ op: 'attach', program, ifindex, handle });
    return handle;
  }

  close(handle: number): void {
    if (!this.links.delete(handle) && !this.programs.delete(handle)) throw new Error(`close of a handle not open: ${handle}`);
    this.calls.push({ op: 'close', handle });
  }

  /** ifindex → subnets whose program is on it */
  attached(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const { program, ifindex } of this.links.values()) out.set(ifindex, [...(out.get(ifindex) ?? []), this.programs.get(program) ?? '?'].sort());
    return out;
  }
}
