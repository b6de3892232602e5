/**
 * The mesh protocol at scale, simulated: N real Mesh objects (membership,
 * heartbeats, gossip, anti-entropy: the code the daemon runs, with its default
 * times) on the in-memory transport (1-3 ms one way) and fake time.
 *
 * The cluster is in its steady state: each peer knows every other's identity
 * (as from its store) and counts the peers started before it as heard (as in a
 * cluster that has been running), so no first-contact storm of full digests
 * takes place (a cold start by gossip alone costs O(N³) work to simulate, over
 * a minute at 250 peers, and is not what is measured). Peers start at random
 * moments within one anti-entropy period, so their timers are out of phase, as
 * real daemons' are.
 *
 * Measured per N:
 * - a peer stopped (its socket closed): simulated time until every other peer
 *   marks it dead;
 * - new endpoints published on other peers (the endpoint table, a
 *   SegmentChannel, as the daemon publishes it) once no peer counts the stopped
 *   one alive any more (so no gossip is lost to it and the figure is that of a
 *   healthy cluster): simulated time until every live peer has each, also in
 *   anti-entropy rounds;
 * - the wall time of the whole simulation.
 */
import { ChannelId } from '../../src/mesh/gossip/channel';
import { type Segment, SegmentChannel } from '../../src/mesh/gossip/segments';
import { seededRandom } from '../../src/mesh/link';
import type { PeerInfo } from '../../src/mesh/membership';
import { DEFAULT_MESH_TIMES, Mesh } from '../../src/mesh/router';
import { MemoryNetwork } from '../../src/mesh/transport/memory';
import { type EndpointEntry, validateEntries } from '../../src/network/endpointTable';
import { FakeScheduler } from '../../src/util/scheduler';
import { type BenchContext, type BenchModule, type BenchResult, formatNumber, max, median, p99, quantile, round, target } from './lib/result';

const GROUP = 'mesh (simulated)';
const TIMES = DEFAULT_MESH_TIMES;
const NET = { latencyMs: 1, jitterMs: 2, seed: 7 };

const PLAN = {
  full: { sizes: [100, 250, 500, 1000], endpoints: 40 },
  quick: { sizes: [100, 250], endpoints: 20 },
};

export const bench: BenchModule = { name: 'meshSim', needsLab: false, run };

async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const plan = ctx.quick ? PLAN.quick : PLAN.full;
  const out: BenchResult[] = [];
  for (const n of plan.sizes) {
    const s = simulate(n, plan.endpoints, ctx.log);
    const rounds = s.convergence.map((t) => t / TIMES.antiEntropyMs);
    ctx.log(`${n} peers: endpoint everywhere p50 ${formatNumber(median(s.convergence))} ms, p99 ${formatNumber(p99(s.convergence))} ms; dead everywhere after ${formatNumber(max(s.detection))} ms; ${s.wallSeconds.toFixed(1)} s wall`);
    const setting = `${n} meshes on the in-memory transport (1-3 ms one way, no loss), fake time, default times (heartbeat ${TIMES.heartbeatMs} ms, anti-entropy ${TIMES.antiEntropyMs} ms, fanout ${TIMES.fanout}, dead after ${TIMES.deadMs} ms)`;
    const convNote = `${setting}; ${s.convergence.length} endpoints, each published on a different peer, 10 ms apart; simulated time until all ${n - 1} live peers have it; ` +
      `90 % of peers have it after ${formatNumber(median(s.reach90))} ms (p50 over endpoints)`;
    out.push({
      group: GROUP, name: `${n} peers: new endpoint everywhere, p50`, value: median(s.convergence), unit: 'ms', better: 'lower',
      samples: s.convergence.map((x) => round(x)), note: convNote,
    });
    out.push({
      group: GROUP, name: `${n} peers: new endpoint everywhere, p99`, value: p99(s.convergence), unit: 'ms', better: 'lower',
      ...(n === plan.sizes[0]
        ? {
          target: { ...target('<=', 1000, 'ms'), text: '≤ 1 s (for 50 real daemons)' },
          note: `the target (issue 6) is for 50 real daemons (meshDaemons measures that), printed here beside ${n} simulated peers; set up as the p50 row above; p99 of ${s.convergence.length} endpoints`,
        }
        : {}),
    });
    out.push({
      group: GROUP, name: `${n} peers: anti-entropy rounds, p99`, value: p99(rounds), unit: 'rounds', better: 'lower',
      samples: rounds.map((x) => round(x, 3)),
      note: `the time until every live peer has a new endpoint, in anti-entropy periods (${TIMES.antiEntropyMs} ms); p50 ${formatNumber(median(rounds))} rounds`,
    });
    out.push({
      group: GROUP, name: `${n} peers: stopped peer dead everywhere`, value: max(s.detection), unit: 'ms', better: 'lower',
      target: { ...target('<=', 3000, 'ms'), text: '≤ 3 s' },
      note: `simulated time from closing one peer's socket until the last of the other ${n - 1} peers marks it dead (its own view from heartbeats); p50 over peers ${formatNumber(median(s.detection))} ms`,
    });
    out.push({
      group: GROUP, name: `${n} peers: simulation wall time`, value: s.wallSeconds, unit: 's', better: 'lower',
      note: `${formatNumber(s.simSeconds)} s simulated on one core; ${formatNumber(s.datagramsPerPeerPerSecond)} datagrams received per peer per simulated second (heartbeats to every peer dominate)`,
    });
    // let the runner's timers and the log breathe between sizes
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

interface SimResult {
  /** per endpoint: ms from its publish until every live peer has it */
  convergence: number[];
  /** per endpoint: ms until 90 % of live peers have it */
  reach90: number[];
  /** per surviving peer: ms from the stop until it marks the stopped peer dead */
  detection: number[];
  wallSeconds: number;
  simSeconds: number;
  datagramsPerPeerPerSecond: number;
}

const addrOf = (i: number) => `10.${((i + 1) >> 16) & 255}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}:6783`;
const idOf = (i: number) => (i + 1).toString(16).padStart(16, '0');

function simulate(n: number, endpoints: number, log: (line: string) => void): SimResult {
  const wall0 = process.hrtime.bigint();
  const clock = new FakeScheduler(0);
  const net = new MemoryNetwork(clock, NET);
  const random = seededRandom(n * 31 + 1);
  const meshes: Mesh[] = new Array<Mesh>(n);
  const tables: SegmentChannel<EndpointEntry[]>[] = new Array<SegmentChannel<EndpointEntry[]>>(n);
  const identities: Segment<PeerInfo>[] = Array.from({ length: n }, (_, j) => ({ writer: idOf(j), version: 1, data: { nickname: `p${j}`, addr: addrOf(j) } }));
  const started: number[] = [];

  // endpoint bookkeeping: each publisher publishes one endpoint; arrivals are seen through the channel's watch
  const publishedAt = new Map<string, number>(); // writer → time
  const arrivals = new Map<string, number[]>(); // writer → arrival times (ms after publish) at each peer
  const stopped = n - 1;

  for (let i = 0; i < n; i++) {
    // each peer comes up at a random moment of the first anti-entropy period: timers out of phase
    clock.after(Math.floor(random() * TIMES.antiEntropyMs), () => {
      const m = new Mesh(idOf(i), net.transport(addrOf(i)), clock, { nickname: `p${i}`, advertise: addrOf(i), ...TIMES }, undefined, seededRandom(i + 1));
      for (let j = 0; j < n; j++) if (j !== i) m.peersChannel.restore(identities[j]);
      // steady state: it has heard the peers already up, and they it
      for (const j of started) {
        m.membership.heard(idOf(j), addrOf(j), clock.now());
        meshes[j].membership.heard(idOf(i), addrOf(i), clock.now());
      }
      const table = new SegmentChannel<EndpointEntry[]>(ChannelId.Endpoints, m.self, { validate: validateEntries });
      m.gossip.add(table);
      table.watch((writers) => {
        for (const w of writers) {
          const at = publishedAt.get(w);
          if (at !== undefined && table.get(w)?.data.length) arrivals.get(w)!.push(clock.now() - at);
        }
      });
      meshes[i] = m;
      tables[i] = table;
      started.push(i);
      m.start();
    });
  }
  const step = (ms: number) => clock.advance(ms);
  step(TIMES.antiEntropyMs + 20);
  if (started.length !== n) throw new Error(`only ${started.length} of ${n} peers started`);
  const alive = meshes.filter((m) => m.alivePeers().length === n - 1).length;
  log(`${n} peers up (${alive} hear all others) after ${(Number(process.hrtime.bigint() - wall0) / 1e9).toFixed(1)} s wall`);

  // failure: one peer's socket closes; every other peer must come to mark it dead
  const tStop = clock.now();
  void meshes[stopped].stop();
  const deadAt = new Map<number, number>();
  const watchDead = clock.every(10, () => {
    for (let i = 0; i < n - 1; i++) {
      if (!deadAt.has(i) && meshes[i].membership.state(idOf(stopped), clock.now()) === 'dead') deadAt.set(i, clock.now());
    }
    if (deadAt.size === n - 1) watchDead.cancel();
  });

  // endpoints, once no one counts the stopped peer alive (no gossip lost to it): 10 ms apart, on distinct peers
  step(TIMES.suspectMs + 50);
  const publishers = pickDistinct(n - 1, endpoints, random);
  publishers.forEach((p, k) => {
    clock.after(k * 10, () => {
      const w = idOf(p);
      publishedAt.set(w, clock.now());
      arrivals.set(w, []);
      tables[p].publish([{ id: `bench-${k}-${'0'.repeat(8)}`, subnet: '10.32.0.0/16', ip: `10.32.1.${k + 1}`, mac: `02:42:0a:20:01:${(k + 1).toString(16).padStart(2, '0')}`, since: clock.now() }]);
    });
  });
  const everywhere = (w: string) => (arrivals.get(w)?.length ?? 0) >= n - 1;
  const done = () => deadAt.size === n - 1 && publishers.every((p) => everywhere(idOf(p)));
  const limit = clock.now() + 60_000;
  while (!done() && clock.now() < limit) step(50);
  watchDead.cancel();
  const simSeconds = clock.now() / 1000;

  // the publisher has it at once; every other live peer when it arrived
  const convergence: number[] = [];
  const reach90: number[] = [];
  for (const p of publishers) {
    const times = [...(arrivals.get(idOf(p)) ?? [])].sort((a, b) => a - b);
    convergence.push(times.length >= n - 1 ? times[n - 2] : NaN);
    reach90.push(quantile(times, 0.9));
  }
  // exact: the moment silence reached deadMs, from when each last heard the stopped peer
  const detection = [...deadAt.keys()].map((i) => {
    const st = meshes[i].peers().find((p) => p.id === idOf(stopped));
    return st?.lastHeard !== undefined ? st.lastHeard + TIMES.deadMs - tStop : deadAt.get(i)! - tStop;
  });
  if (detection.length < n - 1) detection.push(NaN);
  return {
    convergence: convergence.filter(Number.isFinite).length === convergence.length ? convergence : [NaN],
    reach90,
    detection,
    wallSeconds: Number(process.hrtime.bigint() - wall0) / 1e9,
    simSeconds,
    datagramsPerPeerPerSecond: net.stats.delivered / n / simSeconds,
  };
}

/** k distinct integers in [0, below) */
function pickDistinct(below: number, k: number, random: () => number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(k, below)) chosen.add(Math.floor(random() * below));
  return [...chosen];
}
