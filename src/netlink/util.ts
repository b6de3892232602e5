/** Small helpers shared by RtNetlink and FakeNetlink. */
import type { RouteSpec } from './types';

/** `{key: v}` when v is defined, `{}` otherwise: builds objects with optional fields without `undefined` values */
export function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** the operation named in route errors, identical for both implementations */
export function routeOp(verb: 'add' | 'delete', r: RouteSpec): string {
  return `${verb} route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;
}
