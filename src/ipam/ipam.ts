/**
 * weft's IPAM on this host: pools by subnet, addresses in them, persisted.
 * Every method is synchronous and writes through the store in one transaction,
 * so concurrent plugin calls (Node's single thread) can never hand out one address twice.
 */
import type { Clock } from '../util/clock';
import type { Store } from '../store/types';
import {
  type Cidr, contains, containsCidr, equal, formatCidr, formatIp, isUsable, overlaps, parseCidr, parseIp, parseOr,
} from '../addr/cidr';
import { IpamError } from './errors';
import { type Allocation, type AllocationKind, Pool } from './pool';
import { formatPoolId, parsePoolId } from './poolId';
import type { Ownership } from './ownership';
import type { SpaceBroker } from './spaceBroker';
import { pickSubnet } from './subnetPicker';

export interface PoolRecord {
  subnet: string;
  range?: string;
  nextOffset: number;
  createdAt: number;
}

export interface AllocationRecord {
  pool: string; // subnet
  ip: string;
  kind: AllocationKind;
  mac?: string;
  at: number;
}

export type IpamCollections = { pools: PoolRecord; allocations: AllocationRecord };

export interface IpamConfig {
  /** the range auto subnets are taken from (--ipalloc-range) */
  range: Cidr;
  /** the default network's subnet (--ipalloc-default-subnet), kept out of auto picks */
  defaultSubnet: Cidr;
}

export interface PoolRequest {
  pool: string;     // "" → pick one
  subPool: string;  // "" → whole pool
  v6: boolean;
}

export interface AddressRequest {
  poolId: string;
  address: string;  // "" → next free
  gateway: boolean;
  mac?: string;
}

export interface PoolStatus {
  id: string;
  subnet: string;
  range?: string;
  size: number;
  used: number;
  gateway?: string;
}

/** who, outside IPAM, already uses a subnet on this host (a weft network), for a clear refusal */
export type SubnetUser = (subnet: Cidr) => string | undefined;

/**
 * Cluster mode: container addresses come only from space this peer owns in the
 * ring; space it lacks is asked for through the broker. Gateway and aux
 * addresses are the same on every host and are not subject to ownership.
 */
export interface ClusterIpam {
  ownership: Ownership;
  broker: SpaceBroker;
  /** the address a MAC last had in a subnet anywhere in the cluster, if no one holds it now */
  remembered?: (mac: string, subnet: Cidr) => number | undefined;
}

const allocKey = (subnet: Cidr, ip: number) => `${formatCidr(subnet)}|${formatIp(ip)}`;

export class Ipam {
  private readonly pools = new Map<string, Pool>(); // by subnet text

  constructor(
    private readonly store: Store<IpamCollections>,
    private readonly clock: Clock,
    private readonly config: IpamConfig,
    private readonly subnetUser: SubnetUser = () => undefined,
    private readonly cluster?: ClusterIpam,
  ) {
    for (const [, rec] of store.all('pools')) {
      const pool = new Pool(parseCidr(rec.subnet), rec.range ? parseCidr(rec.range) : undefined);
      this.pools.set(rec.subnet, pool);
    }
    for (const [, a] of store.all('allocations')) {
      this.pools.get(a.pool)?.restore({ ip: parseIp(a.ip), kind: a.kind, mac: a.mac, at: a.at });
    }
    for (const [, rec] of store.all('pools')) {
      const pool = this.pools.get(rec.subnet);
      if (pool) pool.nextOffset = rec.nextOffset;
    }
  }

  requestPool(req: PoolRequest): { poolId: string; pool: string } {
    if (req.v6) throw new IpamError('BadRequest', 'weft: IPv6 pools are not supported; create the network without --ipv6');
    const subnet = req.pool === '' ? this.pick() : cidrArg(req.pool, 'subnet');
    const range = req.subPool === '' ? undefined : cidrArg(req.subPool, 'ip-range');
    if (range && !containsCidr(subnet, range)) {
      throw new IpamError('BadRequest', `weft: ip-range ${formatCidr(range)} is not inside subnet ${formatCidr(subnet)}`);
    }
    const existing = this.pools.get(formatCidr(subnet));
    if (existing) {
      const user = this.subnetUser(subnet);
      if (user) throw new IpamError('Overlap', `weft: subnet ${formatCidr(subnet)} is already used by weft network ${user}`);
      if (!sameRange(existing.range, range)) {
        throw new IpamError('Overlap', `weft: subnet ${formatCidr(subnet)} is already a pool with ip-range ${existing.range ? formatCidr(existing.range) : '(whole subnet)'}`);
      }
      return { poolId: formatPoolId(subnet), pool: formatCidr(subnet) };
    }
    for (const p of this.pools.values()) {
      if (overlaps(p.subnet, subnet)) {
        throw new IpamError('Overlap', `weft: subnet ${formatCidr(subnet)} overlaps weft pool ${formatCidr(p.subnet)}`);
      }
    }
    const pool = new Pool(subnet, range);
    this.store.transaction(() => this.savePool(pool));
    this.pools.set(formatCidr(subnet), pool);
    return { poolId: formatPoolId(subnet), pool: formatCidr(subnet) };
  }

  /** idempotent: an unknown pool is already released */
  releasePool(poolId: string): void {
    const subnet = parsePoolId(poolId);
    const pool = this.pools.get(formatCidr(subnet));
    if (!pool) return;
    this.store.transaction(() => {
      for (const a of pool.allocations()) this.store.delete('allocations', allocKey(subnet, a.ip));
      this.store.delete('pools', formatCidr(subnet));
    });
    this.pools.delete(formatCidr(subnet));
  }

  async requestAddress(req: AddressRequest): Promise<{ address: string; allocation: Allocation }> {
    const pool = this.poolOf(req.poolId);
    const kind: AllocationKind = req.gateway ? 'gateway' : req.mac ? 'endpoint' : 'reserved';
    let a: Allocation;
    if (req.address !== '') {
      const ip = ipArg(req.address);
      const held = pool.allocation(ip);
      // Docker repeats the gateway request on replays; the same gateway again is no conflict.
      if (req.gateway && held?.kind === 'gateway') return { address: withPrefix(ip, pool.subnet), allocation: held };
      if (held) pool.claim(ip, kind, this.clock.now()); // throws InUse with the message
      if (kind === 'endpoint' && this.cluster && !this.cluster.ownership.owns(ip)) {
        if (!isUsableIn(pool, ip)) pool.claim(ip, kind, this.clock.now()); // throws OutOfPool
        await this.cluster.broker.acquireAddress(pool.subnet, ip);
      }
      a = pool.claim(ip, kind, this.clock.now(), req.mac);
    } else if (req.gateway) {
      const existing = [...pool.allocations()].find((x) => x.kind === 'gateway');
      if (existing) return { address: withPrefix(existing.ip, pool.subnet), allocation: existing };
      // Docker's convention: the first usable address of the subnet.
      a = pool.claim(pool.subnet.prefix >= 31 ? pool.subnet.base : pool.subnet.base + 1, kind, this.clock.now());
    } else {
      a = (kind === 'endpoint' && req.mac ? await this.claimRemembered(pool, req.mac) : undefined) ?? (await this.allocateOwned(pool, kind, req.mac));
    }
    try {
      this.store.transaction(() => {
        this.store.put('allocations', allocKey(pool.subnet, a.ip), {
          pool: formatCidr(pool.subnet), ip: formatIp(a.ip), kind: a.kind, ...(a.mac ? { mac: a.mac } : {}), at: a.at,
        });
        this.savePool(pool);
      });
    } catch (e) {
      pool.release(a.ip);
      throw e;
    }
    return { address: withPrefix(a.ip, pool.subnet), allocation: a };
  }

  /** a MAC that was here before gets its old address back when it is still free; otherwise undefined */
  private async claimRemembered(pool: Pool, mac: string): Promise<Allocation | undefined> {
    const c = this.cluster;
    const ip = c?.remembered?.(mac, pool.subnet);
    if (ip === undefined || !isUsableIn(pool, ip) || pool.allocation(ip)) return undefined;
    try {
      if (!c!.ownership.owns(ip)) await c!.broker.acquireAddress(pool.subnet, ip);
      return pool.claim(ip, 'endpoint', this.clock.now(), mac);
    } catch (e) {
      if (e instanceof IpamError) return undefined; // in use somewhere, or its owner cannot be reached: a fresh address
      throw e;
    }
  }

  /** an address from owned space; when none is left, more space from a peer, once */
  private async allocateOwned(pool: Pool, kind: AllocationKind, mac?: string): Promise<Allocation> {
    const c = this.cluster;
    if (!c) return pool.allocate(kind, this.clock.now(), mac);
    if (c.ownership.isEmpty) {
      throw new IpamError('Exhausted', 'weft: this peer has not received the cluster\'s address ring yet (no peer has answered); try again shortly');
    }
    try {
      return pool.allocate(kind, this.clock.now(), mac, c.ownership.rangesOf(c.ownership.self, pool.subnet));
    } catch (e) {
      if (!(e instanceof IpamError) || e.code !== 'Exhausted') throw e;
      if (!(await c.broker.acquireSpace(pool.range ?? pool.subnet))) throw e;
      return pool.allocate(kind, this.clock.now(), mac, c.ownership.rangesOf(c.ownership.self, pool.subnet));
    }
  }

  /** false when any pool of this host holds ip: the donor's test before giving space away */
  isFree(ip: number): boolean {
    for (const p of this.pools.values()) if (p.allocation(ip)) return false;
    return true;
  }

  /** idempotent: releasing a free address, or in an unknown pool, succeeds */
  releaseAddress(poolId: string, address: string): void {
    const subnet = parsePoolId(poolId);
    const ip = ipArg(address);
    const pool = this.pools.get(formatCidr(subnet));
    if (!pool || !pool.allocation(ip)) return;
    this.store.transaction(() => this.store.delete('allocations', allocKey(subnet, ip)));
    pool.release(ip);
  }

  status(): PoolStatus[] {
    return [...this.pools.values()].map((p) => {
      const gw = [...p.allocations()].find((a) => a.kind === 'gateway');
      return {
        id: formatPoolId(p.subnet),
        subnet: formatCidr(p.subnet),
        ...(p.range ? { range: formatCidr(p.range) } : {}),
        size: p.size,
        used: p.used,
        ...(gw ? { gateway: formatIp(gw.ip) } : {}),
      };
    });
  }

  /** every allocation, for reconciliation with Docker */
  allocations(): Array<{ poolId: string; subnet: Cidr; allocation: Allocation }> {
    const out: Array<{ poolId: string; subnet: Cidr; allocation: Allocation }> = [];
    for (const p of this.pools.values()) {
      for (const a of p.allocations()) out.push({ poolId: formatPoolId(p.subnet), subnet: p.subnet, allocation: a });
    }
    return out;
  }

  private poolOf(poolId: string): Pool {
    const subnet = parsePoolId(poolId);
    const pool = this.pools.get(formatCidr(subnet));
    if (!pool) throw new IpamError('NoSuchPool', `weft: no pool ${formatCidr(subnet)} (was the network removed?)`);
    return pool;
  }

  private pick(): Cidr {
    const reserved = [this.config.defaultSubnet, ...[...this.pools.values()].map((p) => p.subnet)];
    const subnet = pickSubnet(this.config.range, reserved);
    if (!subnet) {
      throw new IpamError('Exhausted', `weft: no free subnet left in ${formatCidr(this.config.range)}; give one with --subnet`);
    }
    return subnet;
  }

  private savePool(pool: Pool): void {
    const existing = this.store.get('pools', formatCidr(pool.subnet));
    this.store.put('pools', formatCidr(pool.subnet), {
      subnet: formatCidr(pool.subnet),
      ...(pool.range ? { range: formatCidr(pool.range) } : {}),
      nextOffset: pool.nextOffset,
      createdAt: existing?.createdAt ?? this.clock.now(),
    });
  }
}

function isUsableIn(pool: Pool, ip: number): boolean {
  return contains(pool.subnet, ip) && isUsable(pool.subnet, ip);
}

function sameRange(a: Cidr | undefined, b: Cidr | undefined): boolean {
  return a === undefined || b === undefined ? a === b : equal(a, b);
}

function withPrefix(ip: number, subnet: Cidr): string {
  return `${formatIp(ip)}/${subnet.prefix}`;
}

const badRequest = (what: string) => (msg: string) => new IpamError('BadRequest', `weft: bad ${what}: ${msg}`);

function cidrArg(text: string, what: string): Cidr {
  return parseOr(() => parseCidr(text), badRequest(what));
}

function ipArg(text: string): number {
  // Docker sends bare addresses; tolerate "ip/prefix" as some clients do.
  const bare = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  return parseOr(() => parseIp(bare), badRequest('address'));
}
