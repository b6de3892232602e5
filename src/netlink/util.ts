/** Small helpers shared by RtNetlink and FakeNetlink. */
import type { RouteRequest } from './codec/route';
import { NetlinkError } from './errors';
import type { FdbSpec, RouteSpec } from './types';

/** `{key: v}` when v is defined, `{}` otherwise: builds objects with optional fields without `undefined` values */
export function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** the operation named in route errors, identical for both implementations (`ip route`'s word order) */
export function routeOp(verb: 'add' | 'replace' | 'delete', r: RouteSpec): string {
  const type = r.type === 'unreachable' ? 'unreachable ' : '';
  return `${verb} route ${type}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.priority ? ` metric ${r.priority}` : ''}`;
}

/** a RouteSpec as the codec takes it, its dev resolved to `oif` */
export function routeRequest(r: RouteSpec, oif: number | undefined): RouteRequest {
  return { dst: r.dst, ...opt('gateway', r.gateway), ...opt('oif', oif), ...opt('protocol', r.protocol), ...opt('type', r.type), ...opt('priority', r.priority) };
}

/** the operation named in FDB errors, identical for both implementations */
export function fdbOp(verb: 'add' | 'set' | 'delete', f: FdbSpec): string {
  return `${verb} fdb ${f.mac}${f.dst === undefined ? '' : ` dst ${f.dst}`}${f.master ? ' master' : ''} on ${f.dev}`;
}

export type FdbTarget = { self: true; dst: string } | { self: false };

/**
 * Which entry an FdbSpec names: exactly one of dst (the device's own) and master (the bridge's);
 * `appendOnly` (addFdb) allows only dst. Checked before any lookup or request, by both implementations.
 */
export function fdbTarget(op: string, f: FdbSpec, appendOnly: true): { self: true; dst: string };
export function fdbTarget(op: string, f: FdbSpec, appendOnly?: boolean): FdbTarget;
export function fdbTarget(op: string, f: FdbSpec, appendOnly = false): FdbTarget {
  const master = f.master === true;
  if (f.dst !== undefined && !master) return { self: true, dst: f.dst };
  if (f.dst === undefined && master && !appendOnly) return { self: false };
  const want = appendOnly ? 'a dst and no master (the bridge entry is setFdb)' : 'exactly one of dst and master';
  throw NetlinkError.of('EINVAL', op, `an FDB entry needs ${want}`);
}
