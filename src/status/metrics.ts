/**
 * Prometheus metrics (prom-client), served as /metrics on the status API.
 * Plugin calls are counted as they happen; everything else is read from the
 * daemon's services when Prometheus scrapes, so no state is kept twice.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsSources {
  /** addresses of the range each peer owns (the ring, cluster-wide) */
  owned(): Array<{ peer: string; addresses: number }>;
  /** this host's pools: used, and free in the space this host owns */
  pools(): Array<{ subnet: string; used: number; free: number }>;
  /** every known peer: liveness and the data-plane path to it */
  peers(): Array<{ peer: string; state: string; mode: string }>;
  mesh(): { framesIn: number; framesOut: number; bytesIn: number; bytesOut: number };
  drops(): Record<string, number>;
  /** frames and bytes weft carried itself (the sleeve), per peer; the fast path's are the kernel's */
  sleeve(): Array<{ peer: string; framesOut: number; bytesOut: number; framesIn: number; bytesIn: number }>;
  /** routed networks' eBPF redirects: on or off, and the devices each subnet's program is on */
  redirects(): { on: boolean; subnets: Record<string, number> };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'method' | 'outcome'>;
  private readonly latency: Histogram<'method'>;

  constructor(s: MetricsSources) {
    const r = [this.registry];
    // the event-loop lag sampler wakes the loop at this period: prom-client's 10 ms default was
    // most of an idle daemon's CPU (100 wake-ups a second), which adds up with many daemons on a host
    collectDefaultMetrics({ register: this.registry, prefix: 'weft_', eventLoopMonitoringPrecision: 200 });
    this.calls = new Counter({ name: 'weft_plugin_calls_total', help: 'libnetwork plugin calls by method and outcome', labelNames: ['method', 'outcome'], registers: r });
    this.latency = new Histogram({
      name: 'weft_plugin_call_duration_seconds', help: 'time to answer a plugin call', labelNames: ['method'], registers: r,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    });
    gauge(r, 'weft_ipam_owned_addresses', 'addresses of the range each peer owns', ['peer'], (g) => {
      for (const o of s.owned()) g.set({ peer: o.peer }, o.addresses);
    });
    gauge(r, 'weft_ipam_pool_used_addresses', 'addresses allocated on this host, per pool', ['subnet'], (g) => {
      for (const p of s.pools()) g.set({ subnet: p.subnet }, p.used);
    });
    gauge(r, 'weft_ipam_pool_free_addresses', 'addresses this host owns and has not allocated, per pool', ['subnet'], (g) => {
      for (const p of s.pools()) g.set({ subnet: p.subnet }, p.free);
    });
    gauge(r, 'weft_peers', 'known peers by liveness', ['state'], (g) => {
      for (const [state, n] of countBy(s.peers().map((p) => p.state), ['alive', 'suspect', 'dead'])) g.set({ state }, n);
    });
    gauge(r, 'weft_peer_paths', 'known peers by data-plane path', ['mode'], (g) => {
      for (const [mode, n] of countBy(s.peers().map((p) => p.mode), ['fastdp', 'sleeve', 'relay', 'unreachable'])) g.set({ mode }, n);
    });
    gauge(r, 'weft_peer_path', '1 for the path each peer is reached by', ['peer', 'mode'], (g) => {
      for (const p of s.peers()) g.set({ peer: p.peer, mode: p.mode }, 1);
    });
    gauge(r, 'weft_mesh_frames_total', 'mesh datagrams (gossip, heartbeats, RPC, sleeve)', ['direction'], (g) => {
      const m = s.mesh();
      g.set({ direction: 'in' }, m.framesIn);
      g.set({ direction: 'out' }, m.framesOut);
    });
    gauge(r, 'weft_mesh_bytes_total', 'mesh bytes', ['direction'], (g) => {
      const m = s.mesh();
      g.set({ direction: 'in' }, m.bytesIn);
      g.set({ direction: 'out' }, m.bytesOut);
    });
    gauge(r, 'weft_mesh_drops_total', 'datagrams and frames dropped, by reason', ['reason'], (g) => {
      for (const [reason, n] of Object.entries(s.drops())) g.set({ reason }, n);
    });
    gauge(r, 'weft_sleeve_frames_total', 'Ethernet frames weft carried, per peer', ['peer', 'direction'], (g) => {
      for (const t of s.sleeve()) {
        g.set({ peer: t.peer, direction: 'out' }, t.framesOut);
        g.set({ peer: t.peer, direction: 'in' }, t.framesIn);
      }
    });
    gauge(r, 'weft_redirect_enabled', '1 while routed networks\' eBPF redirects are on (0: --no-bpf, or the kernel refused them)', [], (g) => {
      g.set(s.redirects().on ? 1 : 0);
    });
    gauge(r, 'weft_redirect_devices', 'devices carrying a routed subnet\'s eBPF redirect program', ['subnet'], (g) => {
      for (const [subnet, n] of Object.entries(s.redirects().subnets)) g.set({ subnet }, n);
    });
    gauge(r, 'weft_sleeve_bytes_total', 'bytes of Ethernet frames weft carried, per peer', ['peer', 'direction'], (g) => {
      for (const t of s.sleeve()) {
        g.set({ peer: t.peer, direction: 'out' }, t.bytesOut);
        g.set({ peer: t.peer, direction: 'in' }, t.bytesIn);
      }
    });
  }

  /** for the plugin server: one call answered */
  readonly pluginCall = (method: string, ms: number, error?: string): void => {
    const m = method.replace(/^\//, '');
    this.calls.inc({ method: m, outcome: error === undefined ? 'ok' : 'error' });
    this.latency.observe({ method: m }, ms / 1000);
  };

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * A gauge filled at scrape time. Totals kept elsewhere are exposed as gauges
 * named *_total: prom-client counters cannot be set, and these only grow.
 */
function gauge<L extends string>(registers: Registry[], name: string, help: string, labelNames: L[], fill: (g: Gauge<L>) => void): void {
  new Gauge<L>({
    name, help, labelNames, registers,
    collect() {
      this.reset();
      fill(this);
    },
  });
}

function countBy(values: string[], always: string[]): Map<string, number> {
  const m = new Map<string, number>(always.map((k) => [k, 0]));
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}
