/**
 * Which devices carry each routed network's redirect program (./program.ts), kept in line with the
 * routes: the program belongs wherever a packet of the subnet can enter to be forwarded, and weft's
 * own routes (protocol 87) say where that is. A container's /32 goes through its veth host end (its
 * packets enter there); a route to a peer's container goes through the device towards that peer
 * (the peer's packets enter there). So one route dump, taken after the data plane's pass, gives the
 * whole set, with no device names to look up.
 *
 * The programs only shorten a path the stack also takes: a device without one (not yet attached,
 * a failed attach, weft stopped and its links closed) forwards through the stack as before. If the
 * kernel will not take the program at all (no tcx before Linux 6.6, no CAP_BPF, a verifier that
 * refuses), redirects go off for this run and `weft status` says why.
 */
import type { Logger } from 'pino';
import { parseCidr } from '../../addr/cidr';
import type { RouteInfo } from '../../netlink/types';
import { containerRoute } from '../routedPlane';
import { SyscallError } from '../../util/syscall';
import type { TcxPort } from './tcx';

/** the devices weft's routes into `subnet` go through: where the subnet's packets enter to be forwarded. Pure. */
export function redirectDevices(subnet: string, routes: readonly RouteInfo[]): Set<number> {
  const net = parseCidr(subnet);
  const out = new Set<number>();
  for (const r of routes) {
    if (r.ifindex !== undefined && containerRoute(r, net) !== undefined) out.add(r.ifindex);
  }
  return out;
}

export interface RedirectStatus {
  on: boolean;
  /** why not, when off */
  off?: string;
  /** programs attached, all subnets together */
  devices: number;
  /** per routed subnet: the devices its program is on */
  subnets: Record<string, number>;
}

/** errnos after which no attach can work on this host: the kernel lacks tcx, or weft the right */
const FATAL = new Set(['EINVAL', 'EPERM', 'EOPNOTSUPP', 'ENOSYS']);

export class Redirects {
  /** subnet → program handle */
  private readonly programs = new Map<string, number>();
  /** `${subnet} ${ifindex}` → link handle */
  private readonly links = new Map<string, { subnet: string; ifindex: number; link: number }>();
  private offReason: string | undefined;
  /** attach failures already logged, by device, so a failing device is not logged every pass */
  private readonly told = new Set<string>();

  constructor(private readonly d: { tcx: TcxPort; log: Logger }) {}

  /** after the routes of `subnets` (every routed network here) were applied; `routes`: the kernel's, read after */
  sync(subnets: readonly string[], routes: readonly RouteInfo[]): void {
    if (this.offReason !== undefined) return;
    const want = new Map(subnets.map((s) => [s, redirectDevices(s, routes)]));
    for (const [key, l] of this.links) {
      if (want.get(l.subnet)?.has(l.ifindex)) continue;
      this.close(l.link);
      this.links.delete(key);
    }
    for (const [subnet, program] of this.programs) {
      if (want.get(subnet)?.size) continue;
      this.close(program);
      this.programs.delete(subnet);
    }
    for (const [subnet, devices] of want) {
      for (const ifindex of devices) {
        const key = `${subnet} ${ifindex}`;
        if (this.links.has(key)) continue;
        const program = this.program(subnet);
        if (program === undefined) return;
        try {
          this.links.set(key, { subnet, ifindex, link: this.d.tcx.attach(program, ifindex) });
          this.told.delete(key);
        } catch (e) {
          const code = e instanceof SyscallError ? e.code : undefined;
          if (code !== undefined && FATAL.has(code)) return this.turnOff(`the kernel refused to attach it: ${(e as Error).message}`);
          // ENODEV: the device went between the dump and now; its route goes next pass
          if (code !== 'ENODEV' && !this.told.has(key)) {
            this.told.add(key);
            this.d.log.warn({ err: e, subnet, ifindex }, 'could not attach the redirect program to a device; its traffic goes through the stack');
          }
        }
      }
    }
  }

  status(): RedirectStatus {
    if (this.offReason !== undefined) return { on: false, off: this.offReason, devices: 0, subnets: {} };
    const subnets: Record<string, number> = {};
    for (const l of this.links.values()) subnets[l.subnet] = (subnets[l.subnet] ?? 0) + 1;
    return { on: true, devices: this.links.size, subnets };
  }

  /** takes every program off its devices (weft stop: the stack forwards as before) */
  closeAll(): void {
    for (const l of this.links.values()) this.close(l.link);
    this.links.clear();
    for (const p of this.programs.values()) this.close(p);
    this.programs.clear();
  }

  private program(subnet: string): number | undefined {
    const had = this.programs.get(subnet);
    if (had !== undefined) return had;
    try {
      const p = this.d.tcx.load(parseCidr(subnet));
      this.programs.set(subnet, p);
      return p;
    } catch (e) {
      this.turnOff(`the kernel refused the program: ${(e as Error).message}`);
      return undefined;
    }
  }

  private turnOff(reason: string): void {
    this.offReason = reason;
    this.d.log.warn({ reason }, 'eBPF redirects off: routed networks forward through the stack');
    this.closeAll();
  }

  private close(handle: number): void {
    try {
      this.d.tcx.close(handle);
    } catch (e) {
      this.d.log.warn({ err: e, handle }, 'could not close a BPF handle');
    }
  }
}
