/**
 * `npm run bench [-- --quick] [-- --only NAME,NAME] [-- --out DIR]`: runs every
 * benchmark module in order, prints a markdown table (each figure beside its
 * target), writes DIR/results.json and DIR/chart.svg (DIR: bench/). A module
 * that fails is reported and the others still run; modules that need the lab
 * are skipped when not root. Exits 0 whatever the figures: a benchmark reports,
 * it does not assert (2 only for bad arguments).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { svgChart } from './lib/chart';
import { isRoot, repoRoot } from './lib/env';
import { evaluate, machine, markdown, type ModuleOutcome, type Report, toJson } from './lib/report';
import type { BenchModule, BenchResult } from './lib/result';

/**
 * The benchmarks, in the order they run. Adding one is one line here: a file in
 * scripts/bench/ that exports `bench: BenchModule`.
 */
const MODULES: Array<() => BenchModule> = [
  load('./plugin'),
  load('./ipam'),
  load('./meshSim'),
  load('./meshDaemons'),
  load('./dataplane'),
];

/** a module is loaded when it runs, so one that fails to load is reported like one that fails to run */
function load(file: string): () => BenchModule {
  return () => {
    const m = (require(path.join(__dirname, file)) as { bench?: BenchModule }).bench;
    if (!m || typeof m.name !== 'string' || typeof m.needsLab !== 'boolean' || typeof m.run !== 'function') {
      throw new Error(`${file} does not export bench: { name, needsLab, run }`);
    }
    return m;
  };
}

interface Args {
  quick: boolean;
  only?: string[];
  out: string;
  list: boolean;
}

const USAGE = `usage: npm run bench [-- --quick] [-- --only NAME,NAME] [-- --out DIR] [-- --list]
  --quick      a short pass (fewer rounds, smaller sizes)
  --only       run only these modules (by name)
  --out        where results.json and chart.svg go (default: bench/ in the repo)
  --list       print the modules and exit`;

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, out: path.join(repoRoot(), 'bench'), list: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        a.quick = true;
        break;
      case '--only':
        a.only = [...(a.only ?? []), ...value().split(',').map((s) => s.trim()).filter(Boolean)];
        break;
      case '--out':
        a.out = path.resolve(value());
        break;
      case '--list':
        a.list = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
      default:
        usage(`unknown argument ${argv[i]}`);
    }
  }
  return a;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

/** a module that takes longer is reported failed; the data plane's takes about 11 min in full (four phases of rounds) */
const MODULE_TIMEOUT_S = { quick: 180, full: 900 };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const loaded: Array<{ name: string; module?: BenchModule; loadError?: string }> = MODULES.map((get, i) => {
    try {
      const m = get();
      return { name: m.name, module: m };
    } catch (e) {
      return { name: `module #${i + 1}`, loadError: e instanceof Error ? e.message : String(e) };
    }
  });
  if (args.list) {
    for (const l of loaded) process.stdout.write(`${l.name}${l.module?.needsLab ? ' (needs the lab)' : ''}${l.loadError ? ` (does not load: ${l.loadError})` : ''}\n`);
    return;
  }
  if (args.only) {
    const known = new Set(loaded.map((l) => l.name));
    const unknown = args.only.filter((n) => !known.has(n));
    if (unknown.length) usage(`no module ${unknown.join(', ')} (there are: ${[...known].join(', ')})`);
  }
  const selected = loaded.filter((l) => !args.only || args.only.includes(l.name));
  const say = (line: string) => process.stderr.write(line + '\n');
  say(`bench: ${selected.map((l) => l.name).join(', ')}${args.quick ? ' (--quick)' : ''}`);

  const outcomes: ModuleOutcome[] = [];
  const results: BenchResult[] = [];
  for (const l of selected) {
    const t0 = Date.now();
    const seconds = () => Math.round((Date.now() - t0) / 100) / 10;
    if (!l.module) {
      say(`== ${l.name}: does not load: ${l.loadError}`);
      outcomes.push({ name: l.name, status: 'failed', seconds: 0, results: 0, error: `does not load: ${l.loadError}` });
      continue;
    }
    const mod = l.module;
    if (mod.needsLab && !isRoot()) {
      const reason = 'needs root: the lab makes network namespaces and runs dockerd (run npm run bench as root)';
      say(`== ${mod.name}: skipped (${reason})`);
      outcomes.push({ name: mod.name, status: 'skipped', seconds: 0, results: 0, reason });
      continue;
    }
    say(`== ${mod.name}`);
    const log = (line: string) => say(`[${mod.name} ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
    const limit = args.quick ? MODULE_TIMEOUT_S.quick : MODULE_TIMEOUT_S.full;
    let timer: NodeJS.Timeout | undefined;
    try {
      const got = await Promise.race([
        mod.run({ quick: args.quick, log }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${limit} s`)), limit * 1000);
        }),
      ]);
      const valid = got.filter((r) => r && typeof r.group === 'string' && typeof r.name === 'string' && typeof r.value === 'number');
      if (valid.length !== got.length) log(`ignored ${got.length - valid.length} malformed results`);
      results.push(...valid);
      outcomes.push({ name: mod.name, status: 'ok', seconds: seconds(), results: valid.length });
      say(`== ${mod.name}: ${valid.length} results in ${seconds()} s`);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      say(`== ${mod.name}: FAILED after ${seconds()} s: ${error}`);
      if (e instanceof Error && e.stack && process.env.BENCH_DEBUG) say(e.stack);
      outcomes.push({ name: mod.name, status: 'failed', seconds: seconds(), results: 0, error });
    } finally {
      clearTimeout(timer);
    }
  }

  const report: Report = {
    timestamp: new Date(started).toISOString(),
    machine: machine(),
    quick: args.quick,
    ...(args.only ? { only: args.only } : {}),
    seconds: Math.round((Date.now() - started) / 100) / 10,
    modules: outcomes,
    results: evaluate(results),
  };
  fs.mkdirSync(args.out, { recursive: true });
  const jsonFile = path.join(args.out, 'results.json');
  const svgFile = path.join(args.out, 'chart.svg');
  fs.writeFileSync(jsonFile, toJson(report));
  fs.writeFileSync(svgFile, svgChart(report));
  process.stdout.write('\n' + markdown(report) + '\n\n');
  process.stdout.write(`wrote ${path.relative(process.cwd(), jsonFile) || jsonFile} and ${path.relative(process.cwd(), svgFile) || svgFile}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    // a harness bug, not a missed figure
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
