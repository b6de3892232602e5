/**
 * The plugin API as Docker drives it: weft's real plugin server on a Unix
 * socket, called over HTTP the way dockerd calls it, timed per call.
 *
 * It runs in a throw-away network namespace (this file re-runs itself under
 * `unshare --net`; when not root, in a user namespace too, and then without the
 * iptables rule, which is made once per network and may be refused there), wired as
 * src/daemon/main.ts wires the plugin path: real rtnetlink (bridges, veth
 * pairs; the bridges in a namespace of their own, pinned in the temporary directory, as the daemon pins its
 * at /run/netns/weft), the real SQLite store in a temporary directory, the iptables rule,
 * Networks, cluster IPAM (one peer that claimed the whole ring, on a real UDP
 * mesh socket with no other peer), the endpoint table published on every
 * endpoint change, pino logging one line per call to a file. Left out: Docker
 * (nothing calls its API inside a plugin call) and the data plane (its ports
 * are made once per network, not per endpoint).
 *
 * Measured: one client, as `docker run` does it, RequestAddress → CreateEndpoint
 * → Join, then Leave → DeleteEndpoint → ReleaseAddress; then K clients at
 * once, each repeating the whole cycle; then, as root, the one client again on a
 * routed network (CreateEndpoint takes a spare pair, made ahead in the host's
 * namespace and answering ARP, and gives it its /32 route and neighbour entry). The plugin runs in a process of its own
 * (forked, as weft runs apart from dockerd), so the client's work and garbage
 * collection do not land in the times of the calls it makes.
 */
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseCidr } from '../../src/addr/cidr';
import { FakeFirewall } from '../../src/firewall/fake';
import { IptablesFirewall } from '../../src/firewall/iptables';
import { Ipam, type IpamCollections } from '../../src/ipam/ipam';
import { Ownership, type OwnershipCollections } from '../../src/ipam/ownership';
import { SpaceBroker } from '../../src/ipam/spaceBroker';
import { ChannelId } from '../../src/mesh/gossip/channel';
import { type Segment, SegmentChannel } from '../../src/mesh/gossip/segments';
import { seededRandom } from '../../src/mesh/link';
import { newPeerId } from '../../src/mesh/peerId';
import { DEFAULT_MESH_TIMES, Mesh } from '../../src/mesh/router';
import { UdpTransport } from '../../src/mesh/transport/udp';
import { openBridgeNamespace } from '../../src/network/bridgeNamespace';
import { removeNetns } from '../../src/netlink/netns';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { type Namespaces, separate } from '../../src/network/namespaces';
import { type Departure, validateDepartures } from '../../src/network/departures';
import { EndpointPublisher } from '../../src/network/endpointPublisher';
import { type EndpointEntry, localEntries, validateEntries } from '../../src/network/endpointTable';
import type { NetworkCollections } from '../../src/network/model';
import { Networks } from '../../src/network/networks';
import { SPARE_PAIRS, SparePairs } from '../../src/network/sparePairs';
import { deriveMtu } from '../../src/network/underlay';
import { IpamDriver } from '../../src/plugin/ipamDriver';
import { NetworkDriver } from '../../src/plugin/networkDriver';
import { routes } from '../../src/plugin/routes';
import { listenUnix, pluginApp } from '../../src/plugin/server';
import { SqliteStore } from '../../src/store/sqlite';
import { makeLogger } from '../../src/util/log';
import { systemScheduler } from '../../src/util/scheduler';
import { filesystemOf, fsyncMs, isRoot, type Spent, timed } from './lib/env';
import { type BenchContext, type BenchModule, type BenchResult, formatNumber, median, msSince, p99, round, target } from './lib/result';
import { UnixHttpClient } from './lib/unixHttp';
import { procSysctl } from '../../src/util/sysctl';

const GROUP = 'plugin';
const CHILD = '--bench-plugin-child';
const SERVER = '--bench-plugin-server';
/** in a user namespace iptables may be refused: the rule is made once per network, never per endpoint, so it can go */
const NO_IPTABLES = '--no-iptables';
const SUBNET = '10.32.0.0/16';
const ROUTED_SUBNET = '10.44.0.0/16';
const CLIENTS = 8;

interface Plan {
  warmUp: number;
  rounds: number;
  clients: number;
  seconds: number;
}

const PLAN = {
  full: { warmUp: 30, rounds: 400, clients: CLIENTS, seconds: 10 },
  quick: { warmUp: 10, rounds: 150, clients: CLIENTS, seconds: 4 },
} satisfies Record<string, Plan>;

export const bench: BenchModule = { name: 'plugin', needsLab: false, run };

/** runs the measurement in a child process inside a new network namespace, relaying its progress */
async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const resultFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-plugin-out-')), 'results.json');
  const ns = isRoot() ? ['--net'] : ['--user', '--map-root-user', '--net'];
  const argv = [...ns, '--', process.execPath, ...process.execArgv, __filename, CHILD, resultFile, ...(ctx.quick ? ['--quick'] : []), ...(isRoot() ? [] : [NO_IPTABLES])];
  ctx.log(`unshare ${ns.join(' ')} (a throw-away network namespace)`);
  const child = spawn('unshare', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      ctx.log(line);
    });
  }
  const limitMs = (ctx.quick ? 120 : 300) * 1000;
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  try {
    const code = await new Promise<number | string>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, signal) => resolve(c ?? signal ?? 'unknown'));
    });
    if (code !== 0) {
      const why = code === 'SIGKILL' ? `killed after ${limitMs / 1000} s` : `exited with ${code}`;
      throw new Error(`the measuring process ${why}: ${tail.slice(-3).join(' | ') || '(no output)'}`);
    }
    return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as BenchResult[];
  } finally {
    clearTimeout(killer);
    fs.rmSync(path.dirname(resultFile), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// inside the namespace

type Collections = IpamCollections & NetworkCollections & OwnershipCollections & {
  meta: string;
  endpointSegments: Segment<EndpointEntry[]>;
  departedSegments: Segment<Departure[]>;
};

interface Plugin {
  socket: string;
  stateDir: string;
  /** time spent in rtnetlink and in the store since the last reset */
  spent: { netlink: Spent; store: Spent };
  resetSpent(): void;
  stop(): Promise<void>;
}

/** what the measuring process asks the plugin's process, and what it answers */
type ServerRequest = { op: 'spent' } | { op: 'resetSpent' } | { op: 'stop' };
type ServerReply = { op: 'ready'; socket: string } | { op: 'spent'; spent: Plugin['spent'] } | { op: 'done' } | { op: 'failed'; error: string };

/** the plugin in a forked process of its own; the same interface, over IPC */
async function forkPlugin(dir: string, iptables: boolean): Promise<Omit<Plugin, 'spent' | 'resetSpent'> & { spent(): Promise<Plugin['spent']>; resetSpent(): Promise<void> }> {
  const proc = fork(__filename, [SERVER, dir, iptables ? 'iptables' : 'no-iptables'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<ServerReply>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the plugin's process exited (${code}) before answering`));
    proc.once('exit', onExit);
    proc.once('message', (m: ServerReply) => {
      proc.off('exit', onExit);
      if (m.op === 'failed') reject(new Error(`the plugin's process: ${m.error}`));
      else resolve(m);
    });
  });
  const ask = async (req: ServerRequest): Promise<ServerReply> => {
    const reply = next();
    proc.send(req);
    return reply;
  };
  const ready = await next();
  if (ready.op !== 'ready') throw new Error(`the plugin's process said ${ready.op}, not ready`);
  return {
    socket: ready.socket,
    stateDir: dir,
    async spent() {
      const r = await ask({ op: 'spent' });
      if (r.op !== 'spent') throw new Error(`asked for spent, got ${r.op}`);
      return r.spent;
    },
    async resetSpent() {
      await ask({ op: 'resetSpent' });
    },
    async stop() {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      await ask({ op: 'stop' });
      await exited;
    },
  };
}

/** the plugin's process: serves until asked to stop */
async function server(dir: string, iptables: boolean): Promise<void> {
  const send = (m: ServerReply) => process.send?.(m);
  let plugin: Plugin;
  try {
    plugin = await startPlugin(dir, iptables);
  } catch (e) {
    send({ op: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(1);
  }
  process.on('message', (m: ServerRequest) => {
    if (m.op === 'spent') send({ op: 'spent', spent: plugin.spent });
    else if (m.op === 'resetSpent') {
      plugin.resetSpent();
      send({ op: 'done' });
    } else if (m.op === 'stop') {
      void plugin.stop().then(() => {
        send({ op: 'done' });
        process.disconnect?.();
      });
    }
  });
  send({ op: 'ready', socket: plugin.socket });
}

/** the plugin path of runDaemon (src/daemon/main.ts), without Docker and the data plane */
async function startPlugin(dir: string, iptables: boolean): Promise<Plugin> {
  const logFile = fs.createWriteStream(path.join(dir, 'weft.log'));
  const log = makeLogger('info', logFile);
  const clock = systemScheduler;
  const range = parseCidr('10.32.0.0/12');
  const defaultSubnet = parseCidr(SUBNET);
  const spent = { netlink: { ms: 0, calls: 0 }, store: { ms: 0, calls: 0 } };
  const sqlite = new SqliteStore<Collections>(path.join(dir, 'weft.db'));
  const rtnetlink = await RtNetlink.open();
  // every layer below uses these: the time in each adds up in `spent`
  const store = timed(sqlite, spent.store);
  const netlink = timed(rtnetlink, spent.netlink);
  await netlink.setLink('lo', { up: true });
  const mtu = deriveMtu(await netlink.listLinks(), await netlink.listRoutes());
  const pin = path.join(dir, 'bridges.netns');
  const bridgeNs = await openBridgeNamespace(netlink, pin, log.child({ c: 'netns' }));
  log.info({ bridges: bridgeNs.where }, 'bridges');
  // the bridges' own netlink is timed too (in the host's namespace it is `netlink` itself)
  const ns: Namespaces = separate(bridgeNs.ns)
    ? { ...bridgeNs.ns, bridges: { ...bridgeNs.ns.bridges, nl: timed(bridgeNs.ns.bridges.nl, spent.netlink) } }
    : bridgeNs.ns;

  const self = newPeerId();
  store.put('meta', 'peerId', self);
  const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const mesh = new Mesh(self, transport, clock, { nickname: 'bench', advertise: transport.address, ...DEFAULT_MESH_TIMES }, undefined,
    seededRandom(Date.now() ^ process.pid), log.child({ c: 'mesh' }));

  // the endpoint table and departures, published shortly after endpoint changes, as the daemon does
  const endpointTable = new SegmentChannel<EndpointEntry[]>(ChannelId.Endpoints, self, { validate: validateEntries });
  mesh.gossip.add(endpointTable);
  endpointTable.watch((ws) => ws.forEach((w) => store.put('endpointSegments', w, endpointTable.get(w)!)));
  const departed = new SegmentChannel<Departure[]>(ChannelId.Departed, self, { validate: validateDepartures });
  mesh.gossip.add(departed);
  departed.watch((ws) => ws.forEach((w) => store.put('departedSegments', w, departed.get(w)!)));
  const publisher = new EndpointPublisher(self, endpointTable, departed, () => localEntries(networks.endpoints(), networks.networks(), new Map()), clock);

  const firewall = iptables ? new IptablesFirewall(log.child({ c: 'firewall' })) : new FakeFirewall();
  const networks: Networks = new Networks({
    store, ns, firewall, clock, log: log.child({ c: 'network' }), mtu, routedMtu: mtu, sysctl: procSysctl, onEndpointsChanged: () => publisher.schedule(),
    spares: new SparePairs({ ns, log: log.child({ c: 'spares' }), size: SPARE_PAIRS, sysctl: procSysctl }),
  });
  const ownership = new Ownership(self, store, () => clock.now(), log.child({ c: 'ring' }));
  mesh.gossip.add(ownership);
  ownership.claimAll();
  const broker: SpaceBroker = new SpaceBroker({
    ownership, rpc: mesh.rpc, livePeers: () => mesh.alivePeers(), isFree: (ip: number): boolean => ipam.isFree(ip), nickname: (p) => p, log: log.child({ c: 'ring' }),
  });
  const ipam: Ipam = new Ipam(store, clock, { range, defaultSubnet }, (s) => networks.subnetUser(s), { ownership, broker, remembered: publisher.remembered });
  mesh.start();
  const socket = path.join(dir, 'weft.sock');
  const server: Server = await listenUnix(pluginApp(routes(new NetworkDriver(networks), new IpamDriver(ipam)), log.child({ c: 'plugin' })), socket);
  return {
    socket,
    stateDir: dir,
    spent,
    resetSpent() {
      for (const s of Object.values(spent)) Object.assign(s, { ms: 0, calls: 0, methods: {} });
    },
    async stop() {
      publisher.cancel();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await networks.settled();
      await mesh.stop();
      await bridgeNs.close();
      removeNetns(pin);
      await netlink.close();
      store.close();
      await new Promise<void>((resolve) => logFile.end(resolve));
    },
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const randomMac = () => ['02', '42', ...[...randomBytes(4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

interface Timings {
  requestAddress: number[];
  createJoin: number[];
  create: number[];
  join: number[];
  teardown: number[];
  errors: string[];
}

/** one container's life on the network, as dockerd makes the calls; false when a call failed (noted in t) */
async function cycle(c: UnixHttpClient, net: { id: string; poolId: string }, t?: Timings): Promise<boolean> {
  const mac = randomMac();
  const endpoint = hex(32);
  const fail = (what: string, err: string) => {
    t?.errors.push(`${what}: ${err}`);
    return false;
  };
  let t0 = process.hrtime.bigint();
  const addr = await c.post('/IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
  const tReq = msSince(t0);
  if (addr.error) return fail('RequestAddress', addr.error);
  const address = String(addr.body.Address);
  t0 = process.hrtime.bigint();
  const created = await c.post('/NetworkDriver.CreateEndpoint', {
    NetworkID: net.id, EndpointID: endpoint, Interface: { Address: address, AddressIPv6: '', MacAddress: mac },
    Options: { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] },
  });
  const tCreate = msSince(t0);
  if (created.error) return fail('CreateEndpoint', created.error);
  t0 = process.hrtime.bigint();
  const joined = await c.post('/NetworkDriver.Join', { NetworkID: net.id, EndpointID: endpoint, SandboxKey: `/var/run/docker/netns/${hex(6)}`, Options: {} });
  const tJoin = msSince(t0);
  if (joined.error) return fail('Join', joined.error);
  t0 = process.hrtime.bigint();
  for (const [method, body] of [
    ['/NetworkDriver.Leave', { NetworkID: net.id, EndpointID: endpoint }],
    ['/NetworkDriver.DeleteEndpoint', { NetworkID: net.id, EndpointID: endpoint }],
    ['/IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: address.split('/')[0] }],
  ] as const) {
    const r = await c.post(method, body);
    if (r.error) return fail(method.slice(1), r.error);
  }
  const tDown = msSince(t0);
  if (t) {
    t.requestAddress.push(tReq);
    t.create.push(tCreate);
    t.join.push(tJoin);
    t.createJoin.push(tCreate + tJoin);
    t.teardown.push(tDown);
  }
  return true;
}

const newTimings = (): Timings => ({ requestAddress: [], createJoin: [], create: [], join: [], teardown: [], errors: [] });
const ms = (v: number) => `${formatNumber(v)} ms`;
const r3 = (xs: number[]) => xs.map((x) => round(x, 3));

async function measure(plan: Plan, iptables: boolean, log: (line: string) => void): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-plugin-'));
  const plugin = await forkPlugin(dir, iptables);
  const client = new UnixHttpClient(plugin.socket, plan.clients * 2);
  try {
    await client.call('/Plugin.Activate', undefined);
    await client.call('/NetworkDriver.GetCapabilities', undefined);
    await client.call('/IpamDriver.GetCapabilities', undefined);
    const net = await createNetwork(client, SUBNET, {});
    const fsync = fsyncMs(dir);
    log(`network ${SUBNET} created; state in ${filesystemOf(dir)}, fsync p50 ${ms(fsync)}`);

    // one client, one container at a time
    for (let i = 0; i < plan.warmUp; i++) await cycle(client, net);
    const seq = newTimings();
    await plugin.resetSpent();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < plan.rounds; i++) {
      await cycle(client, net, seq);
      if ((i + 1) % Math.max(1, Math.floor(plan.rounds / 4)) === 0) log(`sequential: ${i + 1} of ${plan.rounds} rounds`);
    }
    const seqSeconds = msSince(t0) / 1000;
    const seqDone = seq.createJoin.length;
    const spent = await plugin.spent();
    const per = (x: Spent) => {
      const top = Object.entries(x.methods ?? {}).sort(([, a], [, b]) => b.ms - a.ms).slice(0, 4)
        .map(([name, m]) => `${name} ${formatNumber(m.calls / seqDone)}× ${ms(m.ms / m.calls)}`);
      return `${ms(x.ms / seqDone)} in ${formatNumber(x.calls / seqDone)} calls (${top.join(', ')})`;
    };
    const breakdown = `per sequential cycle (${ms((seqSeconds * 1000) / seqDone)}): rtnetlink ${per(spent.netlink)}, SQLite store ${per(spent.store)} ` +
      `(state on ${filesystemOf(dir)}, fsync p50 ${ms(fsync)})`;
    log(breakdown);

    // K clients at once, each repeating the cycle for a while
    const load = newTimings();
    let cycles = 0;
    const end = Date.now() + plan.seconds * 1000;
    const t1 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: plan.clients }, async () => {
      while (Date.now() < end) if (await cycle(client, net, load)) cycles++;
    }));
    const loadSeconds = msSince(t1) / 1000;
    log(`${plan.clients} clients: ${cycles} cycles in ${loadSeconds.toFixed(1)} s`);

    const routed = iptables ? await routedRounds(client, plan, log) : undefined;

    const errors = [...seq.errors, ...load.errors];
    const errorNote = errors.length ? `; ${errors.length} calls failed, first: ${errors[0]}` : '';
    if (seqDone < plan.rounds * 0.9) throw new Error(`${plan.rounds - seqDone} of ${plan.rounds} rounds failed, first: ${seq.errors[0]}`);
    const layer = 'HTTP POST of JSON on the plugin\'s Unix socket (the plugin in a process of its own), timed by the client (keep-alive), to the reply parsed' +
      (iptables ? '' : ' (not root: in a user namespace, without the per-network iptables rule)');
    return [
      {
        group: GROUP, name: 'CreateEndpoint+Join p50', value: median(seq.createJoin), unit: 'ms', better: 'lower', samples: r3(seq.createJoin),
        note: `${layer}; one client, ${seqDone} containers one after another (after ${plan.warmUp} unmeasured); CreateEndpoint p50 ${ms(median(seq.create))}, Join p50 ${ms(median(seq.join))}${errorNote}`,
      },
      {
        group: GROUP, name: 'CreateEndpoint+Join p99', value: p99(seq.createJoin), unit: 'ms', better: 'lower', target: target('<=', 10, 'ms'),
        note: `the same calls; CreateEndpoint (a spare veth pair made ahead on the bridge when one is ready, else a new pair; SQLite commit) p99 ${ms(p99(seq.create))}, Join (SQLite commit) p99 ${ms(p99(seq.join))}; under ${plan.clients} concurrent clients CreateEndpoint+Join p50 ${ms(median(load.createJoin))}, p99 ${ms(p99(load.createJoin))}`,
      },
      {
        group: GROUP, name: 'RequestAddress p99', value: p99(seq.requestAddress), unit: 'ms', better: 'lower', samples: r3(seq.requestAddress),
        note: `the IPAM call before CreateEndpoint (cluster IPAM, one SQLite transaction); p50 ${ms(median(seq.requestAddress))}`,
      },
      {
        group: GROUP, name: 'Leave+DeleteEndpoint+ReleaseAddress p99', value: p99(seq.teardown), unit: 'ms', better: 'lower',
        note: `a container's stop, the three calls in sequence; p50 ${ms(median(seq.teardown))}`,
      },
      {
        group: GROUP, name: 'endpoint cycles/s, 1 client', value: seqDone / seqSeconds, unit: 'cycles/s', better: 'higher',
        note: `a cycle is the six calls of a container's start and stop (RequestAddress, CreateEndpoint, Join, Leave, DeleteEndpoint, ReleaseAddress): ${formatNumber((6 * seqDone) / seqSeconds)} calls/s; from the sequential rounds; ${breakdown}`,
      },
      {
        group: GROUP, name: `endpoint cycles/s, ${plan.clients} clients`, value: cycles / loadSeconds, unit: 'cycles/s', better: 'higher',
        note: `${plan.clients} clients at once, each repeating the six-call cycle for ${plan.seconds} s: ${formatNumber((6 * cycles) / loadSeconds)} calls/s${load.errors.length ? `; ${load.errors.length} calls failed, first: ${load.errors[0]}` : ''}`,
      },
      ...(routed ? [{
        group: GROUP, name: 'routed network: CreateEndpoint+Join p99', value: p99(routed.createJoin), unit: 'ms', better: 'lower' as const, target: target('<=', 10, 'ms'),
        samples: r3(routed.createJoin),
        note: `-o weft.mode=routed, one client, ${routed.createJoin.length} containers one after another: CreateEndpoint takes a spare pair (made ahead in the host's namespace, answering ARP) and gives it the endpoint's /32 route and neighbour entry; p50 ${ms(median(routed.createJoin))}, CreateEndpoint p99 ${ms(p99(routed.create))}${routed.errors.length ? `; ${routed.errors.length} calls failed, first: ${routed.errors[0]}` : ''}`,
      }] : []),
    ];
  } finally {
    client.close();
    await plugin.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** what dockerd sends for `docker network create -d weft --ipam-driver weft --subnet SUBNET [-o …]` */
async function createNetwork(client: UnixHttpClient, subnet: string, generic: Record<string, string>): Promise<{ id: string; poolId: string }> {
  const pool = await client.call('/IpamDriver.RequestPool', { AddressSpace: 'weft-local', Pool: subnet, SubPool: '', Options: {}, V6: false });
  const poolId = String(pool.PoolID);
  const gw = await client.call('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  const net = { id: hex(32), poolId };
  const made = await client.call('/NetworkDriver.CreateNetwork', {
    NetworkID: net.id, Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': generic },
    IPv4Data: [{ AddressSpace: 'weft-local', Gateway: String(gw.Address), Pool: subnet }], IPv6Data: [],
  });
  if (made.Err) throw new Error(`CreateNetwork ${subnet}: ${String(made.Err)}`);
  return net;
}

/** the one client's rounds on a routed network (this namespace forwards, as Docker leaves a host) */
async function routedRounds(client: UnixHttpClient, plan: Plan, log: (line: string) => void): Promise<Timings> {
  await procSysctl.set('net/ipv4/ip_forward', '1');
  const net = await createNetwork(client, ROUTED_SUBNET, { 'weft.mode': 'routed' });
  for (let i = 0; i < plan.warmUp; i++) await cycle(client, net);
  const t = newTimings();
  for (let i = 0; i < plan.rounds; i++) await cycle(client, net, t);
  log(`routed network ${ROUTED_SUBNET}: ${t.createJoin.length} of ${plan.rounds} rounds`);
  return t;
}

async function child(resultFile: string, quick: boolean, iptables: boolean): Promise<void> {
  const log = (line: string) => process.stderr.write(line + '\n');
  const results = await measure(quick ? PLAN.quick : PLAN.full, iptables, log);
  fs.writeFileSync(resultFile, JSON.stringify(results));
}

if (require.main === module && process.argv[2] === SERVER) {
  server(process.argv[3], process.argv[4] === 'iptables').catch((e: unknown) => {
    process.stderr.write(`plugin server failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}

if (require.main === module && process.argv[2] === CHILD) {
  child(process.argv[3], process.argv.includes('--quick'), !process.argv.includes(NO_IPTABLES)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`plugin bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
