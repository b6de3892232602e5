/**
 * Container to container across two lab hosts, side by side in one run: the
 * underlay (host networking: the limit), weft's fast path, a routed weft
 * network (no encapsulation; with its eBPF redirects, and in a phase of its own
 * without them), its sleeve (clear and encrypted) and Docker's own overlay
 * (swarm mode, attachable network).
 * Throughput by iperf3 (median of five 10 s runs), round trip by ping and by a
 * one-byte TCP request/response loop (tools/tcprr.c; median of five rounds), each
 * in rounds taken in turn over the modes compared, and `docker run --rm` start
 * time on bridge, weft and the overlay; then the weft daemon's CPU and RSS on h1
 * while containers come and go on its network.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docker, hostIp, labUp, resetWeft, sh, shOk, waitFor } from '../../test/e2e/lab';
import type { BenchModule, BenchResult } from './lib/result';
import { processCpuTicks, processRssMb } from './lib/env';
import { median } from './lib/result';

const TCPRR = '/var/cache/weft-lab/tcprr';
const OVERLAY = 'benchovl';
/** a weft network of mode routed (-o weft.mode=routed) */
const ROUTED = 'benchrouted';
/** the routed network on daemons launched with --no-bpf */
const NO_BPF = 'weft routed, --no-bpf';

/** a server container on h2 that a client container on h1 measures against */
interface Target {
  name: string;
  /** the --net of both containers */
  net: string;
  /** the server container */
  server: string;
  ip: string;
}

/** one entry per round, in round order: rounds of the modes of a phase are taken in turn */
interface Figures {
  gbits: number[];
  pingMs: number[];
  rrP50Us: number[];
  rrP99Us: number[];
}

/**
 * Modes compared with each other run in one phase, their iperf3 rounds
 * interleaved (A B C A B C …), so the machine's drift over minutes falls on all
 * of them alike. The underlay runs in every phase, and each weft mode is
 * compared with the underlay of its own phase.
 */
interface Phase {
  label: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** name → --net */
  modes: Array<[string, string]>;
}

export const bench: BenchModule = {
  name: 'dataplane',
  needsLab: true,
  async run(ctx) {
    const runs = ctx.quick ? 1 : 5;
    const seconds = ctx.quick ? 3 : 10;
    buildTcprr();
    await labUp(2);
    for (const h of ['h1', 'h2']) await resetWeft(h);
    await leaveSwarm();
    const h1 = await hostIp('h1');

    const weft = async (flags: string, env = '') => {
      await shOk('h1', `${env} bin/weft launch ${flags}`);
      await shOk('h2', `${env} bin/weft launch ${flags} ${h1}`);
      const want = flags.includes('no-fastdp') || env ? 'sleeve' : 'fastdp';
      await waitFor(`weft ${want}`, 15_000, async () => (await shOk('h1', 'bin/weft status --json')).includes(`"mode": "${want}"`));
    };
    const stopWeft = async () => {
      for (const h of ['h1', 'h2']) await resetWeft(h);
    };
    const routedNetwork = async () => {
      await docker('h1', ['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', '-o', 'weft.mode=routed', '--subnet', '10.44.0.0/16', ROUTED]);
      await waitFor('h2 has the routed network', 30_000, async () => (await docker('h2', ['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes(ROUTED));
    };
    const phases: Phase[] = [
      {
        label: 'kernel paths',
        async setUp() {
          await weft('');
          await routedNetwork();
          await swarmOverlay(h1);
          await docker('h1', ['network', 'create', '-d', 'bridge', USER_BRIDGE]);
        },
        async tearDown() {
          await sh('h1', `/usr/bin/docker network rm ${USER_BRIDGE} ${ROUTED} >/dev/null 2>&1; true`);
          await leaveSwarm();
          await stopWeft();
        },
        modes: [['underlay', 'host'], ['weft fastdp', 'weft'], ['weft routed', ROUTED], ['Docker overlay', OVERLAY]],
      },
      // the same routed network with the host's stack forwarding: what the eBPF redirects are worth, in this run
      {
        label: 'routed without eBPF',
        async setUp() {
          await weft('--no-bpf');
          await routedNetwork();
        },
        async tearDown() {
          await sh('h1', `/usr/bin/docker network rm ${ROUTED} >/dev/null 2>&1; true`);
          await stopWeft();
        },
        modes: [['underlay', 'host'], [NO_BPF, ROUTED]],
      },
      { label: 'sleeve', setUp: () => weft('--no-fastdp'), tearDown: stopWeft, modes: [['underlay', 'host'], ['weft sleeve', 'weft']] },
      { label: 'encrypted sleeve', setUp: () => weft('', 'WEFT_PASSWORD=bench-password-1'), tearDown: stopWeft, modes: [['underlay', 'host'], ['weft sleeve, encrypted', 'weft']] },
    ];

    const figures = new Map<string, Figures>();
    /** per weft mode: the underlay figures of its phase */
    const underlayOf = new Map<string, Figures>();
    let starts: Awaited<ReturnType<typeof startTimes>> | undefined;
    let churn: Churn | undefined;
    for (const ph of phases) {
      ctx.log(`dataplane: ${ph.label} (${ph.modes.map(([n]) => n).join(', ')})`);
      try {
        await ph.setUp();
        const targets: Target[] = [];
        for (const [name, net] of ph.modes) targets.push(await startServer(name, net));
        const got = await measure(targets, runs, seconds, ctx.quick ? 1 : 5);
        const under = got.get('underlay')!;
        for (const [name, f] of got) {
          if (name === 'underlay') {
            if (!figures.has('underlay')) figures.set('underlay', f);
          } else {
            figures.set(name, f);
            if (name.startsWith('weft')) underlayOf.set(name, under);
          }
        }
        if (ph.label === 'kernel paths') {
          starts = await startTimes(['weft', ROUTED, 'bridge', USER_BRIDGE, OVERLAY], ctx.quick ? 3 : 7);
          churn = await churnFootprint(ctx.quick ? 8 : 24, CHURN_PARALLEL);
        }
      } catch (e) {
        ctx.log(`dataplane: ${ph.label} failed: ${(e as Error).message}`);
      } finally {
        await cleanContainers();
        await ph.tearDown();
      }
    }
    const results = report(figures, underlayOf, starts ?? { ms: new Map(), failed: new Map() });
    if (churn) results.push(...churnResults(churn));
    results.push(await encryptedOverlay(h1));
    return results;
  },
};

const USER_BRIDGE = 'benchbr';
/** where the latency loops run, both ends (see startServer) */
const LATENCY_CPU = '0';

async function swarmOverlay(h1: string): Promise<void> {
  const token = (await docker('h1', ['swarm', 'init', '--advertise-addr', h1])).match(/--token (\S+)/)?.[1];
  if (!token) throw new Error('swarm init gave no join token');
  await docker('h2', ['swarm', 'join', '--token', token, `${h1}:2377`]);
  await docker('h1', ['network', 'create', '-d', 'overlay', '--attachable', OVERLAY]);
}

function buildTcprr(): void {
  const src = path.join(__dirname, '..', '..', '..', 'scripts', 'bench', 'tools', 'tcprr.c');
  const from = fs.existsSync(src) ? src : path.join(__dirname, 'tools', 'tcprr.c');
  if (fs.existsSync(TCPRR) && fs.statSync(TCPRR).mtimeMs > fs.statSync(from).mtimeMs) return;
  fs.mkdirSync(path.dirname(TCPRR), { recursive: true });
  execFileSync('gcc', ['-O2', '-static', '-o', TCPRR, from]);
}

/**
 * The server on h2: iperf3 and the request/response echo in one container (on the host's ports for the underlay).
 * The echo and the latency clients run on CPU 0: on this 2-core VM a round trip between processes on different
 * CPUs takes a cross-CPU wake-up each way, and whether the scheduler puts them apart is a lottery per run (one-byte
 * round trips of 23 µs on one CPU, 100–125 µs across, measured over the underlay), larger than what the modes differ by.
 */
async function startServer(name: string, net: string): Promise<Target> {
  const server = `bench-srv-${net}`;
  await docker('h2', ['run', '-d', '--name', server, '--net', net, '-v', `${TCPRR}:/tcprr:ro`, 'lab/iperf3', 'sh', '-c', `iperf3 -s -D; exec taskset -c ${LATENCY_CPU} /tcprr -s 7100`]);
  const ip = net === 'host' ? await hostIp('h2') : (await docker('h2', ['inspect', '-f', `{{.NetworkSettings.Networks.${net}.IPAddress}}`, server])).trim();
  await waitFor(`${name}: server reachable`, 20_000, async () => (await sh('h1', ['/usr/bin/docker', 'run', '--rm', '--net', net, 'lab/busybox', 'ping', '-c', '1', '-W', '1', ip])).code === 0);
  return { name, net, server, ip };
}

async function measure(targets: Target[], runs: number, seconds: number, latencyRounds: number): Promise<Map<string, Figures>> {
  const run = (t: Target, args: string[], timeoutMs = 120_000) => docker('h1', ['run', '--rm', '--net', t.net, '-v', `${TCPRR}:/tcprr:ro`, 'lab/iperf3', ...args], timeoutMs);
  const gbits = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const t of targets) {
      const j = JSON.parse(await run(t, ['iperf3', '-c', t.ip, '-t', String(seconds), '-J'])) as { end?: { sum_received?: { bits_per_second?: number } } };
      const bps = j.end?.sum_received?.bits_per_second;
      if (!bps) throw new Error(`${t.name}: iperf3 gave no result`);
      gbits.get(t.name)!.push(bps / 1e9);
    }
  }
  const out = new Map<string, Figures>(targets.map((t) => [t.name, { gbits: gbits.get(t.name)!, pingMs: [], rrP50Us: [], rrP99Us: [] }]));
  // latency in rounds taken in turn too: even on one CPU (startServer) round trips here drift
  // within minutes (CPU idle states, the other tenants of the machine)
  for (let i = 0; i < latencyRounds; i++) {
    for (const t of targets) {
      const ping = await run(t, ['taskset', '-c', LATENCY_CPU, 'ping', '-c', '20', '-i', '0.02', t.ip]);
      const avg = /= [\d.]+\/([\d.]+)\//.exec(ping)?.[1];
      const rr = await run(t, ['taskset', '-c', LATENCY_CPU, '/tcprr', '-c', t.ip, '7100', '1000']);
      const p50 = /p50_us=([\d.]+)/.exec(rr)?.[1];
      const p99 = /p99_us=([\d.]+)/.exec(rr)?.[1];
      if (!avg || !p50 || !p99) throw new Error(`${t.name}: no latency figures in\n${ping}\n${rr}`);
      const f = out.get(t.name)!;
      f.pingMs.push(Number(avg));
      f.rrP50Us.push(Number(p50));
      f.rrP99Us.push(Number(p99));
    }
  }
  return out;
}

/**
 * wall time of `docker run --rm … true` inside h1, ms, measured in the host so the lab's own overhead stays out; the
 * networks take turns. A start that fails is tried again (twice at most per sample) and counted in `failed`: swarm's
 * attachable overlay now and then times out attaching a container ("context deadline exceeded"), which is Docker's
 * and must not cost the whole phase.
 */
async function startTimes(nets: string[], n: number): Promise<{ ms: Map<string, number[]>; failed: Map<string, number> }> {
  const out = new Map<string, number[]>(nets.map((net) => [net, []]));
  const failed = new Map<string, number>(nets.map((net) => [net, 0]));
  const once = (net: string) => sh('h1', `s=$(date +%s%N); /usr/bin/docker run --rm --net ${net} lab/busybox true >/dev/null || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`, 120_000);
  for (let i = 0; i < n; i++) {
    for (const net of nets) {
      let r = await once(net);
      for (let retry = 0; r.code !== 0 && retry < 2; retry++) {
        failed.set(net, failed.get(net)! + 1);
        r = await once(net);
      }
      if (r.code !== 0) throw new Error(`docker run --net ${net} failed three times: ${r.stderr.trim()}`);
      out.get(net)!.push(Number(r.stdout.trim()));
    }
  }
  return { ms: out, failed };
}

/** containers started at once on h1 while the daemon's footprint is taken */
const CHURN_PARALLEL = 4;

interface Churn {
  containers: number;
  secs: number;
  cpuPct: number;
  rssMb: number[];
}

/**
 * The h1 daemon while containers come and go on the weft network: CHURN_PARALLEL loops of
 * `docker run --rm --net weft … true`, `total` containers in all (each a RequestAddress, CreateEndpoint,
 * Join, Leave, DeleteEndpoint, ReleaseAddress, and an endpoint published to the peer). Its CPU is
 * read from /proc before and after; its RSS every 200 ms.
 */
async function churnFootprint(total: number, parallel: number): Promise<Churn> {
  const pid = Number((await shOk('h1', 'cat /run/weft/weft.pid')).trim());
  const each = Math.ceil(total / parallel);
  const rssMb: number[] = [];
  const c0 = processCpuTicks(pid);
  const t0 = Date.now();
  const sampler = setInterval(() => rssMb.push(processRssMb(pid)), 200);
  try {
    await Promise.all(Array.from({ length: parallel }, () =>
      shOk('h1', `for i in $(seq ${each}); do /usr/bin/docker run --rm --net weft lab/busybox true >/dev/null || exit 1; done`, 600_000)));
  } finally {
    clearInterval(sampler);
  }
  const secs = (Date.now() - t0) / 1000;
  return { containers: each * parallel, secs, cpuPct: ((processCpuTicks(pid) - c0) / 100 / secs) * 100, rssMb };
}

function churnResults(c: Churn): BenchResult[] {
  const note = `${c.containers} containers (docker run --rm, ${CHURN_PARALLEL} at a time) in ${c.secs.toFixed(1)} s on h1`;
  return [
    { group: 'footprint', name: 'daemon RSS under container churn, max', value: Math.max(...c.rssMb), unit: 'MB', better: 'lower', samples: c.rssMb, note },
    { group: 'footprint', name: 'daemon CPU under container churn', value: c.cpuPct, unit: '% of a core', better: 'lower', note },
    { group: 'footprint', name: 'containers started and removed per second, during that', value: c.containers / c.secs, unit: '/s', better: 'higher' },
  ];
}

async function cleanContainers(): Promise<void> {
  for (const h of ['h1', 'h2']) await sh(h, '/usr/bin/docker rm -f $(/usr/bin/docker ps -aq --filter name=bench-srv) >/dev/null 2>&1; true');
}

async function leaveSwarm(): Promise<void> {
  await sh('h2', '/usr/bin/docker swarm leave --force >/dev/null 2>&1; true');
  await sh('h1', `/usr/bin/docker network rm ${OVERLAY} >/dev/null 2>&1; /usr/bin/docker swarm leave --force >/dev/null 2>&1; true`);
}

/** Docker's encrypted overlay needs the kernel's ESP transform: try it and say what happened */
async function encryptedOverlay(h1: string): Promise<BenchResult> {
  let note: string;
  try {
    const token = (await docker('h1', ['swarm', 'init', '--advertise-addr', h1])).match(/--token (\S+)/)?.[1];
    await docker('h2', ['swarm', 'join', '--token', token ?? '', `${h1}:2377`]);
    await docker('h1', ['network', 'create', '-d', 'overlay', '--attachable', '--opt', 'encrypted', OVERLAY]);
    await docker('h2', ['run', '-d', '--name', 'bench-srv', '--net', OVERLAY, 'lab/iperf3', 'iperf3', '-s']);
    const ip = (await docker('h2', ['inspect', '-f', `{{.NetworkSettings.Networks.${OVERLAY}.IPAddress}}`, 'bench-srv'])).trim();
    const r = await sh('h1', ['/usr/bin/docker', 'run', '--rm', '--net', OVERLAY, 'lab/busybox', 'ping', '-c', '3', '-W', '2', ip]);
    note = r.code === 0 ? 'encrypted overlay answered pings (unexpected without ESP; not measured further)' : 'containers on an encrypted overlay do not reach each other here (no ESP transform in this kernel)';
  } catch (e) {
    note = `could not set up: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await cleanContainers();
    await leaveSwarm();
  }
  return { group: 'throughput', name: 'Docker overlay, encrypted', value: NaN, unit: 'Gbit/s', better: 'higher', note };
}

function report(f: Map<string, Figures>, underlayOf: Map<string, Figures>, startRuns: Awaited<ReturnType<typeof startTimes>>): BenchResult[] {
  const starts = startRuns.ms;
  const out: BenchResult[] = [];
  const overlay = f.get('Docker overlay');
  const under = f.get('underlay');
  for (const [name, x] of f) {
    const target =
      name === 'weft fastdp' || name === 'weft routed' ? { op: '>=' as const, value: 0.85, unit: '× underlay', text: '≥ 0.85× underlay', relativeTo: `throughput/underlay, beside ${name}` }
      : name.startsWith('weft sleeve') ? { op: '>=' as const, value: 0.2, unit: '× underlay', text: '≥ 0.2× underlay (Weave sleeve here: 0.02×)', relativeTo: `throughput/underlay, beside ${name}` }
      : undefined;
    out.push({ group: 'throughput', name, value: median(x.gbits), unit: 'Gbit/s', better: 'higher', samples: x.gbits, ...(target ? { target } : {}) });
  }
  // each weft mode's own yardstick: the underlay runs interleaved with it
  for (const [name, u] of underlayOf) {
    out.push({ group: 'throughput', name: `underlay, beside ${name}`, value: median(u.gbits), unit: 'Gbit/s', better: 'higher', samples: u.gbits, note: 'iperf3 rounds taken in turn with that mode' });
  }
  const fast = f.get('weft fastdp');
  const routed = f.get('weft routed');
  for (const [name, x] of [['weft fastdp', fast], ['weft routed', routed]] as const) {
    if (!x || !overlay) continue;
    out.push({
      group: 'throughput', name: `${name} ÷ Docker overlay`, value: median(x.gbits) / median(overlay.gbits), unit: '×', better: 'higher',
      target: { op: '>=', value: 1, unit: '×', text: '≥ 1.0× Docker overlay' }, note: 'rounds taken in turn: underlay, weft fastdp, weft routed, overlay, underlay, …',
    });
  }
  const rounds = `median of ${under?.rrP50Us.length ?? 0} rounds taken in turn with the other modes`;
  for (const [name, x] of f) {
    out.push({ group: 'latency', name: `${name}: ping`, value: median(x.pingMs), unit: 'ms', better: 'lower', samples: x.pingMs, note: `mean of 20 pings per round; ${rounds}` });
    out.push({
      group: 'latency', name: `${name}: TCP request/response p50`, value: median(x.rrP50Us), unit: 'µs', better: 'lower', samples: x.rrP50Us,
      note: `1,000 one-byte requests per round; ${rounds}; p99 ${median(x.rrP99Us)} µs`,
    });
  }
  // each round's p50 less the underlay's of the same round: the drift between rounds cancels
  const added = (x: Figures, u: Figures = under!) => median(x.rrP50Us.map((v, i) => v - u.rrP50Us[i]!));
  const noBpf = f.get(NO_BPF);
  const noBpfUnder = underlayOf.get(NO_BPF);
  if (noBpf && noBpfUnder) {
    const note = 'the routed network with the host\'s stack forwarding (weft launched with --no-bpf), rounds in turn with the underlay in a phase of its own: compare weft routed';
    out.push({ group: 'throughput', name: `${NO_BPF} ÷ underlay`, value: median(noBpf.gbits) / median(noBpfUnder.gbits), unit: '×', better: 'higher', note });
    out.push({ group: 'latency', name: `${NO_BPF} added RTT (TCP p50, over the underlay)`, value: added(noBpf, noBpfUnder), unit: 'µs', better: 'lower', note });
  }
  for (const [name, x] of [['weft fastdp', fast], ['weft routed', routed]] as const) {
    if (!x || !overlay || !under) continue;
    out.push({
      group: 'latency', name: `${name} added RTT (TCP p50, over the underlay)`, value: added(x), unit: 'µs', better: 'lower',
      target: { op: '<=', value: added(overlay), unit: 'µs', text: `≤ Docker overlay's (${added(overlay).toFixed(1)} µs)` },
      note: "per round, the mode's p50 less the underlay's taken just before; median over rounds",
    });
  }
  const label = (net: string) => (net === OVERLAY ? 'Docker overlay' : net === USER_BRIDGE ? 'user-defined bridge network' : net === ROUTED ? 'weft routed' : net);
  for (const [net, xs] of starts) {
    const target = net === 'weft' && starts.has('bridge') ? { op: '<=' as const, value: 1.1, unit: '× bridge', text: '≤ 1.1× bridge', relativeTo: 'container start/bridge' } : undefined;
    const failed = startRuns.failed.get(net) ?? 0;
    const notes = [
      net === USER_BRIDGE ? 'docker network create -d bridge: what Docker adds for any user-defined network (the embedded DNS resolver, set up in each container) without a plugin'
        : net === 'bridge' ? "Docker's default bridge: no embedded DNS" : undefined,
      failed ? `${failed} start${failed > 1 ? 's' : ''} failed and ${failed > 1 ? 'were' : 'was'} tried again` : undefined,
    ].filter(Boolean);
    const note = notes.length ? notes.join('; ') : undefined;
    out.push({ group: 'container start', name: label(net), value: median(xs), unit: 'ms', better: 'lower', samples: xs, ...(target ? { target } : {}), ...(note ? { note } : {}) });
  }
  const w = starts.get('weft');
  const ub = starts.get(USER_BRIDGE);
  if (w && ub) out.push({ group: 'container start', name: 'weft ÷ user-defined bridge network', value: median(w) / median(ub), unit: '×', better: 'lower', note: 'the same Docker work per user-defined network on both sides: what the plugin itself adds' });
  return out;
}
