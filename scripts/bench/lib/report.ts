/**
 * From results to what a person reads: the verdict of each result against its
 * target (relative targets computed against the result they name), the
 * markdown table, and the machine-readable record.
 */
import * as os from 'node:os';
import { type BenchResult, formatNumber, keyOf, round } from './result';

export type Verdict = 'met' | 'missed' | 'none';

export interface Evaluated extends BenchResult {
  verdict: Verdict;
  /** with a relative target: value / the other result's value */
  ratio?: number;
  /**
   * how the figure stands against its target, as a multiple of the bound
   * (value / bound, or ratio / bound): 1 is on the bound. What the chart draws.
   */
  normalized?: number;
  /** why there is no verdict although there is a target */
  why?: string;
}

export interface ModuleOutcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  results: number;
  error?: string;
  reason?: string;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  platform: string;
  node: string;
  hostname: string;
}

export interface Report {
  timestamp: string;
  machine: Machine;
  quick: boolean;
  only?: string[];
  seconds: number;
  modules: ModuleOutcome[];
  results: Evaluated[];
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 3),
    kernel: os.release(),
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
    hostname: os.hostname(),
  };
}

const SYMBOL: Record<Verdict, string> = { met: '✓', missed: '✗', none: '–' };

export function evaluate(results: readonly BenchResult[]): Evaluated[] {
  const byKey = new Map(results.map((r) => [keyOf(r), r]));
  return byGroup(results).map((r): Evaluated => {
    const t = r.target;
    if (!t) return { ...r, verdict: 'none' };
    if (!Number.isFinite(r.value)) return { ...r, verdict: 'none', why: 'no value' };
    let measured = r.value;
    let ratio: number | undefined;
    if (t.relativeTo !== undefined) {
      const ref = byKey.get(t.relativeTo);
      if (!ref) return { ...r, verdict: 'none', why: `${t.relativeTo} was not measured` };
      if (!Number.isFinite(ref.value) || ref.value === 0) return { ...r, verdict: 'none', why: `${t.relativeTo} has no usable value` };
      ratio = r.value / ref.value;
      measured = ratio;
    }
    const ok = t.op === '>=' ? measured >= t.value : measured <= t.value;
    const normalized = t.value === 0 ? undefined : measured / t.value;
    return { ...r, verdict: ok ? 'met' : 'missed', ...(ratio !== undefined ? { ratio } : {}), ...(normalized !== undefined ? { normalized } : {}) };
  });
}

/** rows of a group together, groups in the order they first appear (a module may emit groups in turn, per size) */
export function byGroup<T extends { group: string }>(rows: readonly T[]): T[] {
  const first = new Map<string, number>();
  for (const r of rows) if (!first.has(r.group)) first.set(r.group, first.size);
  return [...rows].sort((a, b) => first.get(a.group)! - first.get(b.group)!); // sort is stable: order within a group stays
}

export function formatValue(r: Evaluated): string {
  if (!Number.isFinite(r.value)) return 'n/a';
  const v = `${formatNumber(r.value)} ${r.unit}`.trim();
  if (r.ratio !== undefined && r.target?.relativeTo) return `${v} (${formatNumber(r.ratio)}× ${r.target.relativeTo})`;
  return v;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** the markdown table: group, measure, value, target, verdict; then the notes, failures and skips */
export function markdown(report: Report): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`weft benchmarks, ${report.timestamp}${report.quick ? ' (--quick)' : ''}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}`);
  lines.push('');
  lines.push('| group | measure | value | target | verdict |');
  lines.push('| --- | --- | ---: | --- | :---: |');
  const notes: string[] = [];
  for (const r of report.results) {
    let measure = r.name;
    if (r.note) {
      notes.push(r.note);
      measure += ` [${notes.length}]`;
    }
    const tgt = r.target ? r.target.text + (r.why ? ` (${r.why})` : '') : '';
    lines.push(`| ${cell(r.group)} | ${cell(measure)} | ${cell(formatValue(r))} | ${cell(tgt)} | ${SYMBOL[r.verdict]} |`);
  }
  for (const mod of report.modules) {
    if (mod.status === 'failed') lines.push(`| ${cell(mod.name)} | (module failed) | | | – |`);
    if (mod.status === 'skipped') lines.push(`| ${cell(mod.name)} | (skipped) | | | – |`);
  }
  lines.push('');
  notes.forEach((n, i) => lines.push(`[${i + 1}] ${n}`));
  const failed = report.modules.filter((x) => x.status === 'failed');
  const skipped = report.modules.filter((x) => x.status === 'skipped');
  if (notes.length && (failed.length || skipped.length)) lines.push('');
  for (const f of failed) lines.push(`failed: ${f.name}: ${f.error ?? 'unknown error'}`);
  for (const s of skipped) lines.push(`skipped: ${s.name}: ${s.reason ?? ''}`);
  const counts = { met: 0, missed: 0, none: 0 };
  for (const r of report.results) counts[r.verdict]++;
  lines.push('');
  lines.push(
    `${report.results.length} results (${counts.met} ✓, ${counts.missed} ✗, ${counts.none} without a verdict); modules: ` +
      report.modules.map((x) => `${x.name} ${x.status === 'ok' ? `${formatNumber(x.seconds)} s` : x.status}`).join(', ') +
      `; total ${formatNumber(report.seconds)} s`,
  );
  return lines.join('\n');
}

/** results.json: numbers rounded to 4 significant digits, samples kept */
export function toJson(report: Report): string {
  const clean = (r: Evaluated) => ({
    ...r,
    value: round(r.value),
    ...(r.ratio !== undefined ? { ratio: round(r.ratio) } : {}),
    ...(r.normalized !== undefined ? { normalized: round(r.normalized) } : {}),
    ...(r.samples ? { samples: r.samples.map((s) => round(s)) } : {}),
  });
  return JSON.stringify({ ...report, results: report.results.map(clean) }, null, 2) + '\n';
}
