/**
 * One address pool (a subnet, optionally narrowed by Docker's --ip-range) and who
 * holds which address in it. Pure: the Ipam service persists what it returns.
 */
import { AddressSpace } from './addressSpace';
import { type Cidr, type Ip, contains, formatCidr, formatIp, isUsable, usable } from '../addr/cidr';
import { IpamError } from './errors';

export type AllocationKind = 'gateway' | 'endpoint' | 'reserved';

export interface Allocation {
  ip: Ip;
  kind: AllocationKind;
  mac?: string;
  at: number;
}

export class Pool {
  private readonly space: AddressSpace;
  private readonly holders = new Map<Ip, Allocation>();

  constructor(readonly subnet: Cidr, readonly range: Cidr | undefined) {
    const u = usable(subnet);
    this.space = new AddressSpace(u.lo, u.hi);
  }

  get size(): number {
    return this.space.capacity;
  }
  get used(): number {
    return this.space.count;
  }
  get nextOffset(): number {
    return this.space.nextOffset;
  }
  set nextOffset(off: number) {
    this.space.setNextOffset(off);
  }

  allocation(ip: Ip): Allocation | undefined {
    return this.holders.get(ip);
  }

  allocations(): IterableIterator<Allocation> {
    return this.holders.values();
  }

  /** puts back an allocation read from the store */
  restore(a: Allocation): void {
    if (this.space.claim(a.ip)) this.holders.set(a.ip, a);
  }

  /** claims a named address; InUse/OutOfPool otherwise */
  claim(ip: Ip, kind: AllocationKind, at: number, mac?: string): Allocation {
    if (!contains(this.subnet, ip) || !isUsable(this.subnet, ip)) {
      const why = contains(this.subnet, ip) ? 'is the network or broadcast address of' : 'is outside';
      throw new IpamError('OutOfPool', `weft: address ${formatIp(ip)} ${why} ${formatCidr(this.subnet)}`);
    }
    if (this.space.isTaken(ip)) {
      throw new IpamError('InUse', `weft: address ${formatIp(ip)} is already in use in ${formatCidr(this.subnet)}`);
    }
    return this.take(ip, kind, at, mac);
  }

  /**
   * The next free address within the ip-range (if any) and within `owned` (the
   * space this peer owns; everything when absent); Exhausted when none.
   * Next-fit: the search starts at the cursor's range and wraps.
   */
  allocate(kind: AllocationKind, at: number, mac?: string, owned?: ReadonlyArray<{ start: number; end: number }>): Allocation {
    const lo = this.range ? this.range.base : 0;
    const hi = this.range ? this.range.base + 2 ** (32 - this.range.prefix) - 1 : 2 ** 32 - 1;
    const windows = (owned ?? [{ start: 0, end: 2 ** 32 }])
      .map((r) => ({ from: Math.max(r.start, lo), to: Math.min(r.end - 1, hi) }))
      .filter((w) => w.from <= w.to);
    const cursorIp = this.space.lo + this.space.nextOffset;
    const first = Math.max(0, windows.findIndex((w) => w.to >= cursorIp));
    let ip: number | undefined;
    for (let i = 0; i < windows.length && ip === undefined; i++) ip = this.space.allocate(windows[(first + i) % windows.length]);
    if (ip === undefined) {
      const where = this.range ? `ip-range ${formatCidr(this.range)}` : formatCidr(this.subnet);
      throw new IpamError('Exhausted', `weft: no free address left in ${where}`);
    }
    this.space.release(ip); // take() below claims it with its holder
    return this.take(ip, kind, at, mac);
  }

  /** false when the address was not allocated */
  release(ip: Ip): boolean {
    if (!this.space.release(ip)) return false;
    this.holders.delete(ip);
    return true;
  }

  private take(ip: Ip, kind: AllocationKind, at: number, mac?: string): Allocation {
    this.space.claim(ip);
    const a: Allocation = mac ? { ip, kind, mac, at } : { ip, kind, at };
    this.holders.set(ip, a);
    return a;
  }
}
