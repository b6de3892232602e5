/**
 * The composition root: builds every service from the config and wires them.
 * No logic of its own beyond start and stop order.
 */
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import { DockerClient, dockerEndpoint } from '../docker/client';
import { NetworkSync } from '../docker/networkSync';
import { DockerSync } from '../docker/sync';
import { IptablesFirewall } from '../firewall/iptables';
import { formatCidr, parseCidr } from '../addr/cidr';
import { Metrics } from '../status/metrics';
import { type Departure, validateDepartures } from '../network/departures';
import { EndpointPublisher } from '../network/endpointPublisher';
import { Ipam, type IpamCollections } from '../ipam/ipam';
import { Ownership, type OwnershipCollections } from '../ipam/ownership';
import { SpaceBroker } from '../ipam/spaceBroker';
import { deriveKey, Opener, Sealer } from '../mesh/crypto';
import { ChannelId } from '../mesh/gossip/channel';
import { type Segment, SegmentChannel } from '../mesh/gossip/segments';
import { seededRandom } from '../mesh/link';
import type { PeerInfo } from '../mesh/membership';
import { isPeerId, newPeerId, type PeerId } from '../mesh/peerId';
import { DataPlane, sleeveBudgetFor } from '../dataplane/dataPlane';
import { PROBE_LOCAL_IP_TEXT, PROBE_PORT } from '../dataplane/frames/vxlanProbe';
import type { Path } from '../dataplane/plan';
import { Redirects } from '../dataplane/redirect/redirects';
import { kernelTcx } from '../dataplane/redirect/tcx';
import { openTap } from '../dataplane/tap/tap';
import { DEFAULT_MESH_TIMES, Mesh } from '../mesh/router';
import { DropCounter } from '../mesh/stats';
import { FramedTransport } from '../mesh/transport/framed';
import { UdpTransport } from '../mesh/transport/udp';
import { RtNetlink } from '../netlink/rtnetlink';
import { openBridgeNamespace } from '../network/bridgeNamespace';
import { type HostNetworks, validateHostNetworks } from '../network/clusterNetworks';
import { type EndpointEntry, flatten, KnownSince, localEntries, validateEntries } from '../network/endpointTable';
import type { NetworkCollections } from '../network/model';
import { Networks } from '../network/networks';
import { SPARE_PAIRS, SparePairs } from '../network/sparePairs';
import { Reconciler } from '../network/reconciler';
import { deriveMtu, meshSegment, underlayAddress, underlayMtu } from '../network/underlay';
import { procSysctl } from '../util/sysctl';
import { IpamDriver } from '../plugin/ipamDriver';
import { NetworkDriver } from '../plugin/networkDriver';
import { routes } from '../plugin/routes';
import { listenUnix, pluginApp } from '../plugin/server';
import { ApiError, listenApi } from '../status/api';
import { SqliteStore } from '../store/sqlite';
import { systemScheduler } from '../util/scheduler';
import { makeLogger } from '../util/log';
import { VERSION } from '../version';
import { type Config, DEFAULTS, peerAddr } from './config';
import { removePid, runningPid, writePid } from './pidFile';

export class AlreadyRunning extends Error {}

type Collections = IpamCollections & NetworkCollections & OwnershipCollections & { meta: string; peers: Segment<PeerInfo>; networkSegments: Segment<HostNetworks>; endpointSegments: Segment<EndpointEntry[]>; departedSegments: Segment<Departure[]> };

export interface Daemon {
  /** keep: leave bridges and ports in the kernel (a signal keeps them: a service restart must not cut containers off) */
  stop(o?: { keep?: boolean }): Promise<void>;
  /** resolves once stopped, whoever asked */
  readonly stopped: Promise<void>;
}

export async function runDaemon(config: Config): Promise<Daemon> {
  const other = runningPid(config.pidFile);
  if (other !== undefined) throw new AlreadyRunning(`weft is already running (pid ${other})`);
  writePid(config.pidFile);
  const log = makeLogger(config.logLevel);
  const clock = systemScheduler;
  const store = new SqliteStore<Collections>(path.join(config.stateDir, 'weft.db'));
  const netlink = await RtNetlink.open();
  const [links, routesNow, addrs] = [await netlink.listLinks(), await netlink.listRoutes(), await netlink.listAddresses()];
  const bridgeNs = await openBridgeNamespace(netlink, config.bridgesNetns, log.child({ c: 'netns' }), { former: DEFAULTS.bridgesNetns });
  const { ns } = bridgeNs;
  const mtu = config.mtu ?? deriveMtu(links, routesNow);
  // routed networks carry no encapsulation
  const routedMtu = config.mtu ?? underlayMtu(links, routesNow);

  // the mesh: who we are, where peers reach us, the password
  let self = store.get('meta', 'peerId');
  if (!self) store.put('meta', 'peerId', (self = newPeerId()));
  const advertise = config.advertise ?? `${underlayAddress(links, routesNow, addrs) ?? '127.0.0.1'}:${config.port}`;
  const key = config.password ? deriveKey(config.password) : undefined;
  // the kernel has no ESP transform here, so VXLAN traffic could not be encrypted: a password means the sleeve
  const fastdp = config.fastdp && key === undefined;
  const fastdpOff = fastdp ? undefined : !config.fastdp ? '--no-fastdp' : 'a password is set: traffic goes by the encrypted sleeve (no kernel ESP for VXLAN)';
  // GSO cuts the mesh's 64 KiB messages into underlay-sized datagrams in the kernel; GRO hands them back whole
  const socket = await UdpTransport.open({ host: '0.0.0.0', port: config.port, segment: meshSegment(links, routesNow), gro: true });
  if (socket.offload.errors.length) log.warn({ errors: socket.offload.errors }, 'UDP offload refused: large mesh messages are IP-fragmented');
  const transport = new FramedTransport(socket, { ...(socket.offload.segment !== undefined ? { segment: socket.offload.segment } : {}), now: clock.now });
  const mesh = new Mesh(self, transport, clock, { nickname: config.nickname, advertise, ...DEFAULT_MESH_TIMES, fastdp },
    key ? { sealer: new Sealer(key, self), opener: new Opener(key) } : undefined, seededRandom(Date.now() ^ process.pid), log.child({ c: 'mesh' }));
  for (const [, seg] of store.all('peers')) mesh.peersChannel.restore(seg);
  /** what the mesh, its framing and its socket dropped, by reason */
  const allDrops = () => DropCounter.sum([mesh.drops, transport.drops, socket.drops]);
  persist(mesh.peersChannel, (w, seg) => store.put('peers', w, seg));

  // networks follow the cluster: each host gossips the weft networks its Docker has
  const networkSegments = new SegmentChannel<HostNetworks>(ChannelId.Networks, self, { validate: validateHostNetworks });
  for (const [, seg] of store.all('networkSegments')) networkSegments.restore(seg);
  mesh.gossip.add(networkSegments);
  persist(networkSegments, (w, seg) => store.put('networkSegments', w, seg));
  const networkSync = new NetworkSync(new DockerClient(dockerEndpoint(config.dockerHost)), networkSegments, self, config.driver, clock, log.child({ c: 'netsync' }));

  // the endpoint table: every host's endpoints, so each peer knows where every container lives
  const endpointTable = new SegmentChannel<EndpointEntry[]>(ChannelId.Endpoints, self, { validate: validateEntries });
  for (const [, seg] of store.all('endpointSegments')) endpointTable.restore(seg);
  mesh.gossip.add(endpointTable);
  persist(endpointTable, (w, seg) => store.put('endpointSegments', w, seg));
  const knownSince = new KnownSince();
  knownSince.update(flatten(endpointTable.all()), clock.now());
  endpointTable.watch(() => knownSince.update(flatten(endpointTable.all()), clock.now()));
  // and the endpoints that left, so a container back with the same --mac-address gets its old address
  const departed = new SegmentChannel<Departure[]>(ChannelId.Departed, self, { validate: validateDepartures });
  for (const [, seg] of store.all('departedSegments')) departed.restore(seg);
  mesh.gossip.add(departed);
  persist(departed, (w, seg) => store.put('departedSegments', w, seg));
  const publisher = new EndpointPublisher(self, endpointTable, departed, () => localEntries(networks.endpoints(), networks.networks(), networkSync.containerNames), clock);
  const publishEndpoints = () => publisher.schedule();
  networkSync.onPass = publishEndpoints;

  // the data plane: VXLAN and TAP ports on each bridge, programmed from the endpoint table and the path to each peer
  const topology = new SegmentChannel<PeerId[]>(ChannelId.Topology, self, { validate: validatePeerList });
  mesh.gossip.add(topology);
  const dataPlane = new DataPlane({
    self, ns, clock, log: log.child({ c: 'dataplane' }), fastdp, vxlanPort: config.vxlanPort, mesh, topology,
    endpoints: () => flatten(endpointTable.all()),
    hostsWithSubnet: (subnet) => new Set(networkSegments.all().filter((s) => s.data.networks.some((n) => n.subnet === subnet)).map((s) => s.writer)),
    openTap,
    openProbeSocket: () => UdpTransport.open({ host: PROBE_LOCAL_IP_TEXT, port: PROBE_PORT }),
    drops: mesh.drops,
    tickMs: DEFAULT_MESH_TIMES.heartbeatMs,
    sleeveBudget: sleeveBudgetFor(transport.singleSendCapacity),
    // after the loop's I/O callbacks: what the TAP gave in one turn leaves in as few datagrams as fit
    sleeveDefer: (flush) => setImmediate(flush),
    ...(config.bpf ? { redirects: new Redirects({ tcx: kernelTcx, log: log.child({ c: 'redirect' }) }) } : { redirectsOff: '--no-bpf' }),
  });
  endpointTable.watch(() => dataPlane.schedule());
  networkSegments.watch(() => dataPlane.schedule());

  // address ownership: the first peer (launched without peers) claims the whole space; others wait for the ring.
  // Every gossip channel is in place before the first await: the socket is open, and peers that know this one
  // gossip to it at once (a channel added later drops what arrives before it, until anti-entropy repairs it)
  const ownership = new Ownership(self, store, () => clock.now(), log.child({ c: 'ring' }));
  mesh.gossip.add(ownership);
  if (ownership.isEmpty && config.peers.length === 0) ownership.claimAll();
  await dataPlane.start();

  const firewall = new IptablesFirewall(log.child({ c: 'firewall' }));
  const networks: Networks = new Networks({
    ports: dataPlane,
    store, ns, firewall, clock, log: log.child({ c: 'network' }), mtu, routedMtu, sysctl: procSysctl, encrypted: key !== undefined,
    spares: new SparePairs({ ns, log: log.child({ c: 'spares' }), size: SPARE_PAIRS, sysctl: procSysctl }),
    onNetworksChanged: () => networkSync.kick(),
    onEndpointsChanged: () => {
      publishEndpoints();
      networkSync.kick(500);
    },
  });
  const nickname = (id: string) => mesh.peersChannel.get(id)?.data.nickname ?? id;
  const broker: SpaceBroker = new SpaceBroker({
    ownership,
    rpc: mesh.rpc,
    livePeers: () => mesh.alivePeers(),
    isFree: (ip: number): boolean => ipam.isFree(ip),
    nickname,
    log: log.child({ c: 'ring' }),
  });
  const ipam: Ipam = new Ipam(store, clock, { range: config.range, defaultSubnet: config.defaultSubnet }, (s) => networks.subnetUser(s), { ownership, broker, remembered: publisher.remembered });
  const reconciler = new Reconciler({ networks, ipam, ns, firewall, clock, log: log.child({ c: 'reconcile' }), driver: config.driver });
  await reconciler.kernel();
  await bridgeNs.retirePrevious();

  const docker = new DockerClient(dockerEndpoint(config.dockerHost));
  const sync = new DockerSync(docker, reconciler, log.child({ c: 'docker' }), {
    name: config.name,
    driver: config.driver,
    defaultSubnet: config.defaultSubnet,
    createDefaultNetwork: config.defaultNetwork,
    intervalMs: 60_000,
    retryMs: 1_000,
  });

  mesh.start();
  for (const p of config.peers) mesh.connect(p);
  const metrics = new Metrics({
    owned: () => [...ownership.ownedIn(config.range)].map(([peer, addresses]) => ({ peer: peer === self ? config.nickname : nickname(peer), addresses })),
    pools: () => ipam.status().map((p) => {
      const subnet = parseCidr(p.subnet);
      return { subnet: p.subnet, used: p.used, free: Math.max(0, (ownership.ownedIn(subnet).get(self) ?? 0) - p.used) };
    }),
    peers: () => mesh.peers().map((p) => ({ peer: p.nickname, state: p.state, mode: pathView(dataPlane.pathOf(p.id)).mode })),
    mesh: () => mesh.traffic,
    drops: allDrops,
    sleeve: () => [...dataPlane.trafficByPeer()].map(([peer, t]) => ({ peer: nickname(peer), ...t })),
    redirects: () => dataPlane.redirectStatus(),
  });
  const plugin = await listenUnix(pluginApp(routes(new NetworkDriver(networks), new IpamDriver(ipam)), log.child({ c: 'plugin' }), metrics.pluginCall), config.socketPath);
  const api = await listenApi(config.statusAddr, {
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    status: () => ({
      version: VERSION,
      pid: process.pid,
      name: config.name,
      driver: config.driver,
      socket: config.socketPath,
      stateDir: config.stateDir,
      range: formatCidr(config.range),
      defaultSubnet: formatCidr(config.defaultSubnet),
      mtu,
      bridges: bridgeNs.where,
      docker: { checked: sync.checked, reachable: sync.reachable, defaultNetwork: sync.defaultNetwork },
      mesh: {
        self: { id: self, nickname: config.nickname, addr: advertise },
        encrypted: key !== undefined,
        peers: mesh.peers().map((p) => ({ ...p, ...pathView(dataPlane.pathOf(p.id)) })),
        targets: mesh.membership.configuredTargets(),
        drops: allDrops(),
        traffic: mesh.traffic,
        /** gossip updates sent, received, and received that were news */
        gossip: mesh.gossip.counts,
        udp: { segment: transport.segment ?? null, gro: socket.offload.gro, reassembling: transport.pending, sendBuffers: socket.stats.sendBuffers },
      },
      ring: {
        waiting: ownership.isEmpty,
        owners: [...ownership.ownedIn(config.range)].map(([peer, addresses]) => ({ peer, nickname: peer === self ? config.nickname : nickname(peer), addresses })),
        ...(ownership.conflict ? { conflict: { ...ownership.conflict, nickname: nickname(ownership.conflict.peer) } } : {}),
      },
      dataplane: { ...dataPlane.status(), ...(fastdpOff ? { fastdpOff } : {}), encrypted: key !== undefined },
      networks: networks.networks(),
      endpoints: networks.endpoints(),
      cluster: {
        endpoints: flatten(endpointTable.all()).map((e) => ({ ...e, hostName: e.host === self ? config.nickname : nickname(e.host), knownSince: knownSince.get(e) })),
      },
      pools: ipam.status(),
    }),
    connect: (addr) => mesh.connect(peerAddr(addr, String(config.port))),
    forget: (addr) => mesh.forget(peerAddr(addr, String(config.port))),
    stop: (keep) => {
      setImmediate(() => void stop({ keep }));
      return { stopping: process.pid, keep };
    },
    rmpeer: (name) => {
      const peer = mesh.peers().find((p) => p.id === name || p.nickname === name);
      if (!peer) throw new ApiError(404, `weft: no peer ${name}`);
      if (peer.state !== 'dead') throw new ApiError(409, `weft: peer ${peer.nickname} is ${peer.state}; rmpeer is for peers gone for good (stop it first)`);
      const reclaimed = ownership.reclaim(peer.id);
      endpointTable.overwrite(peer.id, []);
      mesh.peersChannel.overwrite(peer.id, { nickname: peer.nickname, addr: peer.addr, removed: true });
      log.warn({ peer: peer.id, nickname: peer.nickname, tokens: reclaimed }, 'peer removed; its address space is now ours');
      return { removed: peer.id, nickname: peer.nickname, tokens: reclaimed };
    },
  });
  sync.start();
  networkSync.start();
  log.info({ version: VERSION, peer: self, socket: config.socketPath, mesh: advertise, encrypted: key !== undefined, mtu, bridges: bridgeNs.where }, 'weft started');

  let stopping: Promise<void> | undefined;
  let stoppedNow: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stoppedNow = r));
  const stop = (o: { keep?: boolean } = {}) =>
    (stopping ??= (async () => {
      log.info({ keep: o.keep === true }, 'weft stopping');
      sync.stop();
      networkSync.stop();
      await Promise.all([closeServer(plugin), closeServer(api)]);
      if (!o.keep) {
        for (const net of networks.networks()) {
          await networks.unapplyNetwork(net).catch((e: unknown) => log.warn({ err: e, bridge: net.bridge }, 'could not remove a network from the kernel'));
        }
      }
      await networks.settled();
      await dataPlane.stop(o.keep === true);
      await mesh.stop();
      fs.rmSync(config.socketPath, { force: true });
      await bridgeNs.close();
      await netlink.close();
      store.close();
      removePid(config.pidFile);
      log.info('weft stopped');
      log.flush();
      stoppedNow();
    })());
  return { stop, stopped };
}

function pathView(p: Path | undefined): { mode: string; via?: string } {
  return p ? { mode: p.mode, ...(p.via ? { via: p.via } : {}) } : { mode: 'unreachable' };
}

function validatePeerList(d: unknown): PeerId[] {
  if (!Array.isArray(d) || d.length > 10_000 || !d.every(isPeerId)) throw new Error('bad peer list');
  return d as PeerId[];
}

function persist<T>(channel: SegmentChannel<T>, put: (writer: string, seg: Segment<T>) => void): void {
  channel.watch((writers) => {
    for (const w of writers) {
      const seg = channel.get(w);
      if (seg) put(w, seg);
    }
  });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
