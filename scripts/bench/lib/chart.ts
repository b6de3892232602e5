/**
 * The chart (SVG, hand-written, no dependency): one row per result, grouped.
 * A result with a target is a bullet bar normalised to that target, so figures
 * of different units share one scale: the track spans 0 to 2× the bound, the
 * dark marker is the bound, the bar is green when the target is met and red
 * when it is missed (» when it runs past the track). A result without a target
 * is a grey bar, as long as it is next to the largest figure of the same unit
 * in its group. The figure and the target are written beside each row.
 */
import type { Evaluated, Report } from './report';
import { formatValue } from './report';
import { formatNumber } from './result';

const W = 900;
const PAD = 16;
const LABEL_W = 340;
const TRACK_X = PAD + LABEL_W + 12;
const TRACK_W = 300;
const VALUE_X = TRACK_X + TRACK_W + 14;
const ROW_H = 28;
const GROUP_H = 30;
/** on the track, the bound sits here: the track spans 0..2× the bound */
const SPAN = 2;
const COLOR = { met: '#2f9e44', missed: '#e03131', none: '#adb5bd', marker: '#212529', track: '#f1f3f5', text: '#212529', dim: '#868e96' };
const FONT = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** roughly what fits in px at a font size (sans-serif averages ~0.52 em per character) */
function fit(s: string, px: number, size: number): string {
  const max = Math.floor(px / (size * 0.52));
  return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + '…';
}

function text(x: number, y: number, s: string, o: { size?: number; weight?: string; fill?: string; anchor?: string; italic?: boolean; title?: string } = {}): string {
  const attrs = [
    `x="${x}"`, `y="${y}"`, `font-size="${o.size ?? 12}"`,
    o.weight ? `font-weight="${o.weight}"` : '', `fill="${o.fill ?? COLOR.text}"`,
    o.anchor ? `text-anchor="${o.anchor}"` : '', o.italic ? 'font-style="italic"' : '',
  ].filter(Boolean).join(' ');
  return `<text ${attrs}>${o.title ? `<title>${esc(o.title)}</title>` : ''}${esc(s)}</text>`;
}

export function svgChart(report: Report): string {
  const out: string[] = [];
  let y = PAD;
  const m = report.machine;
  const header = [
    text(PAD, y + 16, `weft benchmarks${report.quick ? ' (--quick)' : ''}`, { size: 17, weight: '600' }),
    text(W - PAD, y + 16, `${report.timestamp.slice(0, 16).replace('T', ' ')} UTC · ${m.cpus} CPUs · Linux ${m.kernel} · Node ${m.node}`, { size: 11, fill: COLOR.dim, anchor: 'end' }),
    text(PAD, y + 36, 'Bars with a target are drawn against it: the track spans 0 to 2× the target, the dark marker is the target (» past the track).', { size: 11, fill: COLOR.dim }),
    text(PAD, y + 51, 'Green: met; red: missed. Grey: no target, length relative to the largest figure of the same unit in its group. One run, on a noisy machine.', { size: 11, fill: COLOR.dim }),
  ];
  out.push(...header);
  y += 66;

  // the largest figure per group and unit, for rows without a target
  const largest = new Map<string, number>();
  for (const r of report.results) {
    const k = `${r.group}\u0000${r.unit}`;
    if (Number.isFinite(r.value)) largest.set(k, Math.max(largest.get(k) ?? 0, Math.abs(r.value)));
  }

  let group: string | undefined;
  for (const r of report.results) {
    if (r.group !== group) {
      group = r.group;
      out.push(`<line x1="${PAD}" y1="${y + GROUP_H - 6}" x2="${W - PAD}" y2="${y + GROUP_H - 6}" stroke="#dee2e6" stroke-width="1"/>`);
      out.push(text(PAD, y + GROUP_H - 11, r.group, { size: 13, weight: '600' }));
      y += GROUP_H;
    }
    out.push(resultRow(r, y, largest.get(`${r.group}\u0000${r.unit}`) ?? 0));
    y += ROW_H;
  }
  const problems = report.modules.filter((x) => x.status !== 'ok');
  if (problems.length) {
    out.push(`<line x1="${PAD}" y1="${y + GROUP_H - 6}" x2="${W - PAD}" y2="${y + GROUP_H - 6}" stroke="#dee2e6" stroke-width="1"/>`);
    out.push(text(PAD, y + GROUP_H - 11, 'not measured', { size: 13, weight: '600' }));
    y += GROUP_H;
    for (const p of problems) {
      const why = p.status === 'failed' ? `failed: ${p.error ?? ''}` : `skipped: ${p.reason ?? ''}`;
      out.push(text(PAD, y + 18, fit(`${p.name} — ${why}`, W - 2 * PAD, 12), { fill: p.status === 'failed' ? COLOR.missed : COLOR.dim, italic: true, title: why }));
      y += ROW_H;
    }
  }
  y += PAD;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="${esc(FONT)}">`,
    `<rect x="0" y="0" width="${W}" height="${y}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function resultRow(r: Evaluated, y: number, largest: number): string {
  const parts: string[] = [];
  const barY = y + 13;
  const barH = 11;
  const label = r.name;
  parts.push(text(PAD + 8, barY + 9, fit(label, LABEL_W - 8, 12), { title: r.note ? `${label}: ${r.note}` : label }));
  parts.push(`<rect x="${TRACK_X}" y="${barY}" width="${TRACK_W}" height="${barH}" fill="${COLOR.track}"/>`);

  let frac: number | undefined;
  let color = COLOR.none;
  if (r.target && r.normalized !== undefined && Number.isFinite(r.normalized)) {
    frac = r.normalized / SPAN;
    color = r.verdict === 'met' ? COLOR.met : r.verdict === 'missed' ? COLOR.missed : COLOR.none;
  } else if (Number.isFinite(r.value) && largest > 0) {
    frac = Math.abs(r.value) / largest;
  }
  if (frac !== undefined) {
    const w = Math.max(2, Math.min(1, frac) * TRACK_W);
    parts.push(`<rect x="${TRACK_X}" y="${barY}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`);
    if (frac > 1) parts.push(text(TRACK_X + TRACK_W - 2, barY + 9.5, '»', { size: 12, weight: '700', fill: '#ffffff', anchor: 'end' }));
  }
  if (r.target) {
    const mx = TRACK_X + TRACK_W / SPAN;
    parts.push(`<rect x="${mx - 1}" y="${barY - 3}" width="2" height="${barH + 6}" fill="${COLOR.marker}"/>`);
    const why = r.why ? ` (${r.why})` : '';
    const ratio = r.ratio !== undefined ? ` · now ${formatNumber(r.ratio)}×` : '';
    parts.push(text(mx + 5, barY - 2, fit(`target ${r.target.text}${ratio}${why}`, W - PAD - mx - 5, 10), { size: 10, fill: COLOR.dim }));
  }
  const mark = r.verdict === 'met' ? ' ✓' : r.verdict === 'missed' ? ' ✗' : '';
  const valueText = formatValue(r).replace(/ \(.*×.*\)$/, '');
  parts.push(text(VALUE_X, barY + 9, fit(valueText + mark, W - PAD - VALUE_X, 12), {
    weight: '600',
    fill: r.verdict === 'missed' ? COLOR.missed : COLOR.text,
    title: formatValue(r),
  }));
  return parts.join('\n');
}
