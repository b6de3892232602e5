/**
 * What a benchmark module returns, and the small statistics every module needs.
 * A benchmark reports; it never asserts: a missed target is a figure like any other.
 */

export interface Target {
  op: '>=' | '<=';
  /** the bound; with relativeTo, a ratio (0.85 = 0.85× the other result) */
  value: number;
  /** the bound's unit (the result's unit, or '×' with relativeTo) */
  unit: string;
  /** how the target reads in the table, e.g. "≤ 10 ms" or "≥ 0.85× underlay" */
  text: string;
  /** "group/name" of another result: the target bounds value / that result's value */
  relativeTo?: string;
}

export interface BenchResult {
  /** a heading that groups rows in the table and the chart, e.g. "plugin" or "ipam" */
  group: string;
  /** what was measured, e.g. "CreateEndpoint+Join p99"; unique within its group */
  name: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  target?: Target;
  /** which layer it measures, how, caveats: printed under the table */
  note?: string;
  samples?: number[];
}

export interface BenchContext {
  quick: boolean;
  /** a progress line (stderr), prefixed with the module's name */
  log(line: string): void;
}

export interface BenchModule {
  /** what --only selects */
  name: string;
  /** needs the lab (root, network namespaces, dockerd): skipped when not root */
  needsLab: boolean;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

/** the key a relative target names: "group/name" */
export const keyOf = (r: Pick<BenchResult, 'group' | 'name'>): string => `${r.group}/${r.name}`;

/** the q-quantile (0..1) by linear interpolation between closest ranks; NaN for no samples */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);
export const p50 = median;
export const p99 = (samples: readonly number[]): number => quantile(samples, 0.99);
export const mean = (samples: readonly number[]): number => (samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN);
export const max = (samples: readonly number[]): number => (samples.length ? Math.max(...samples) : NaN);

/** rounds to a few significant digits, so results.json does not carry noise digits */
export function round(v: number, digits = 4): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const p = Math.pow(10, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return Math.round(v * p) / p;
}

/** milliseconds since t0 (from process.hrtime.bigint()) */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** a target written once: target('<=', 10, 'ms') reads "≤ 10 ms" */
export function target(op: Target['op'], value: number, unit: string, text?: string): Target {
  return { op, value, unit, text: text ?? `${op === '>=' ? '≥' : '≤'} ${formatNumber(value)} ${unit}` };
}

/** value / the result named by relativeTo, bounded: relative('>=', 0.85, 'lab/underlay TCP', 'underlay') */
export function relative(op: Target['op'], ratio: number, relativeTo: string, label: string): Target {
  return { op, value: ratio, unit: '×', text: `${op === '>=' ? '≥' : '≤'} ${formatNumber(ratio)}× ${label}`, relativeTo };
}

/** 3 significant digits below 1000, grouped thousands above: 0.0123, 4.56, 789, 12,345, 1,048,574 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a === 0) return '0';
  return String(round(v, 3));
}
