import type { Logger } from 'pino';
import { parseCidr, parseIp } from '../../../src/addr/cidr';
import { Redirects } from '../../../src/dataplane/redirect/redirects';
import { RecordingTcx } from '../../../src/dataplane/redirect/tcx';
import { silentLogger } from '../../../src/util/log';
import { DataPlane, type DataPlaneDeps, type MeshPort, RESYNC_MS, SLEEVE_BUDGET, sleeveBudgetFor } from '../../../src/dataplane/dataPlane';
import { type Bytes, joined } from '../../../src/mesh/transport/bytes';
import { parseArp } from '../../../src/dataplane/frames/arp';
import { BROADCAST_KEY, macKeyOf, type MacKey } from '../../../src/dataplane/frames/mac';
import { decodeProbe, encodeProbe } from '../../../src/dataplane/frames/probe';
import { decodeSleeve, encodeSleeve, PACK_PREFIX_BYTES } from '../../../src/dataplane/frames/sleeve';
import { vniForSubnet } from '../../../src/dataplane/frames/vni';
import { parseUdpFrame, parseVxlanDatagram, PROBE_DEVICE_MAC_TEXT, PROBE_VNI } from '../../../src/dataplane/frames/vxlanProbe';
import { MemoryTap } from '../../../src/dataplane/tap/memory';
import { TAP_GSO_MAX_SIZE } from '../../../src/dataplane/tap/tap';
import { VNET_HDR_BYTES } from '../../../src/dataplane/tap/vnet';
import { packFrames, unpackFrames } from '../../../src/dataplane/tap/packed';
import { ChannelId } from '../../../src/mesh/gossip/channel';
import { type Segment, SegmentChannel } from '../../../src/mesh/gossip/segments';
import type { PeerInfo } from '../../../src/mesh/membership';
import { MessageType } from '../../../src/mesh/messageTypes';
import type { PeerId } from '../../../src/mesh/peerId';
import { DropCounter } from '../../../src/mesh/stats';
import { singleSendCapacity } from '../../../src/mesh/transport/framing';
import type { ReceiveHandler, Transport } from '../../../src/mesh/transport/types';
import { FakeNetlink } from '../../../src/netlink/fake';
import { oneNamespace } from '../../../src/network/namespaces';
import type { FdbInfo, LinkChange } from '../../../src/netlink/types';
import type { ClusterEndpoint } from '../../../src/network/endpointTable';
import type { NetworkRecord } from '../../../src/network/model';
import { PROBE_DEVICE, tapName, vxlanName } from '../../../src/network/names';
import { FakeScheduler } from '../../../src/util/scheduler';

const A = 'aaaaaaaaaaaaaaaa'; // this host
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const UNDERLAY: Record<PeerId, string> = { [B]: '192.168.91.2', [C]: '192.168.91.3' };
const VXLAN_PORT = 4789;
const TICK = 1000;
const FRESH = 6 * TICK;
const ZERO = '00:00:00:00:00:00';

const NET: NetworkRecord = {
  id: '0123456789abcdef0123456789abcdef', bridge: 'weft-0123456789', subnet: '10.32.0.0/16', gateway: '10.32.0.1',
  mtu: 1450, mac: '7a:10:0a:20:00:00', internal: false, createdAt: 0,
};
const NET2: NetworkRecord = { ...NET, id: 'fedcba9876543210fedcba9876543210', bridge: 'weft-fedcba9876', subnet: '10.33.0.0/16', gateway: '10.33.0.1', mac: '7a:10:0a:21:00:00' };
const VNI = vniForSubnet(parseCidr(NET.subnet));
const VX = vxlanName(NET.id);
const TAP = tapName(NET.id);

const m = (n: number) => `02:42:0a:20:00:${n.toString(16).padStart(2, '0')}`;
const ep = (host: PeerId, n: number, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({
  id: `e${host[0]}${n}`, subnet: NET.subnet, ip: `10.32.0.${n}`, mac: m(n), host, since: 1000, ...extra,
});

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/** the mesh as the data plane sees it: records what it is given, keeps the handlers, peers under test control */
class FakeMesh implements MeshPort {
  readonly sent: Array<{ to: PeerId; type: number; payload: Buffer }> = [];
  readonly raw: Array<{ addr: string; data: Buffer }> = [];
  readonly handlers = new Map<number, (sender: PeerId, payload: Buffer) => void>();
  alive: PeerId[] = [];
  readonly peers = new Map<PeerId, Segment<PeerInfo>>();
  readonly peersChannel = { all: () => [...this.peers.values()], get: (id: PeerId) => this.peers.get(id) };

  constructor() {
    this.setPeer(A, { nickname: 'a', addr: '192.168.91.1:6783', fastdp: true });
    for (const p of [B, C]) this.setPeer(p, { nickname: p[0]!, addr: `${UNDERLAY[p]}:6783`, fastdp: true });
  }

  setPeer(id: PeerId, data: PeerInfo): void {
    this.peers.set(id, { writer: id, version: (this.peers.get(id)?.version ?? 0) + 1, data });
  }

  send(to: PeerId, type: number, payload: Bytes): void {
    this.sent.push({ to, type, payload: joined(payload) });
  }

  sendRaw(addr: string, data: Buffer): void {
    this.raw.push({ addr, data });
  }

  on(type: number, fn: (sender: PeerId, payload: Buffer) => void): void {
    this.handlers.set(type, fn);
  }

  addrOf(id: PeerId): string | undefined {
    return this.peers.get(id)?.data.addr;
  }

  alivePeers(): PeerId[] {
    return [...this.alive];
  }

  /** what went over the mesh as sleeve datagrams: next hop, header, frames */
  sleeve() {
    return this.sent.filter((s) => s.type === MessageType.Sleeve).map((s) => {
      const d = decodeSleeve(s.payload);
      if (!d.ok) throw new Error(d.reason);
      return { to: s.to, header: d.header, frames: unpackFrames(d.packed) };
    });
  }
}

class FakeProbeSocket implements Transport {
  readonly address = '169.254.255.254:6785';
  handler?: ReceiveHandler;
  closed = false;
  send(): void {}
  sendRaw(): void {}
  onReceive(h: ReceiveHandler): void {
    this.handler = h;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** FakeNetlink whose listFdb can be held, to catch the data plane in the middle of a pass */
class GatedNetlink extends FakeNetlink {
  private gate?: Promise<void>;
  private unlock?: () => void;
  listFdbCalls = 0;
  hold(): void {
    this.gate = new Promise((r) => (this.unlock = r));
  }
  open(): void {
    this.gate = undefined;
    this.unlock?.();
  }
  override async listFdb(dev?: string): Promise<FdbInfo[]> {
    this.listFdbCalls++;
    if (this.gate) await this.gate;
    return super.listFdb(dev);
  }
}

function recordingLog() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

/** separate: the bridges (nl) in a namespace of their own, beside the host's (host) */
async function harness(o: { fastdp?: boolean; bridges?: NetworkRecord[]; hosts?: PeerId[]; separate?: boolean; redirects?: Redirects } = {}) {
  const nl = new GatedNetlink();
  const host = o.separate ? new GatedNetlink() : nl;
  for (const n of o.bridges ?? [NET]) await nl.createBridge({ name: n.bridge, mtu: n.mtu, mac: n.mac });
  const clock = new FakeScheduler();
  const mesh = new FakeMesh();
  const topology = new SegmentChannel<PeerId[]>(ChannelId.Topology, A, { validate: (d) => d as PeerId[] });
  const taps: MemoryTap[] = [];
  const probeSockets: FakeProbeSocket[] = [];
  const drops = new DropCounter();
  const { log, lines } = recordingLog();
  const state = { endpoints: [] as ClusterEndpoint[], hosts: new Set(o.hosts ?? [A, B, C]) };
  let tapPeers = 0;
  const deps: DataPlaneDeps = {
    self: A, ns: o.separate ? { host: { nl: host, ref: host.ref('host') }, bridges: { nl, ref: nl.ref('bridges') } } : oneNamespace(nl, nl.ref()), clock, log, fastdp: o.fastdp ?? true, vxlanPort: VXLAN_PORT, mesh, topology,
    endpoints: () => state.endpoints,
    hostsWithSubnet: () => state.hosts,
    openTap: (name) => {
      // the fake has no TAP kind: a veth of that name stands in for the device the kernel would create (where
      // the thread is: the host's namespace)
      void host.createVeth({ name, peerName: `tp${++tapPeers}` }).catch(() => undefined);
      const t = new MemoryTap(name, { vnetHdr: VNET_HDR_BYTES });
      taps.push(t);
      return t;
    },
    openProbeSocket: async () => {
      const s = new FakeProbeSocket();
      probeSockets.push(s);
      return s;
    },
    drops,
    tickMs: TICK,
    sleeveBudget: 60_000,
    ...(o.redirects ? { redirects: o.redirects } : { redirectsOff: '--no-bpf' }),
  };
  const dp = new DataPlane(deps);
  let acked = 0;
  const h = {
    nl, host, clock, mesh, topology, taps, probeSockets, drops, lines, state, dp, deps,
    /** lets time pass in 10 ms steps, finishing the (promise-driven) work each step starts */
    async advance(ms: number) {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(Math.min(10, ms - t));
        await drain();
      }
    },
    /** the peer's weft acks every probe sent to it so far, with the nonce from the datagram */
    ackProbes(peers: PeerId[] = [B, C]) {
      for (; acked < mesh.raw.length; acked++) {
        const { addr, data } = mesh.raw[acked]!;
        const peer = Object.keys(UNDERLAY).find((p) => addr === `${UNDERLAY[p]}:${VXLAN_PORT}`);
        if (!peer || !peers.includes(peer)) continue;
        const probe = decodeProbe(Buffer.from(parseUdpFrame(parseVxlanDatagram(data)!.inner)!.payload))!;
        expect(probe.sender).toBe(A);
        mesh.handlers.get(MessageType.FastdpAck)!(peer, probe.nonce);
      }
    },
    /** time passes while the given peers keep acking */
    async acking(ms: number, peers: PeerId[] = [B, C]) {
      for (let t = 0; t < ms; t += 10) {
        h.ackProbes(peers);
        await h.advance(10);
      }
      h.ackProbes(peers);
    },
    /** the kernel state of a network's ports, comparable */
    async kernel(net: NetworkRecord = NET) {
      const vx = (await nl.getLink(vxlanName(net.id)))?.index;
      const tap = (await nl.getLink(tapName(net.id)))?.index;
      const fdb = await nl.listFdb();
      const staticOn = (i: number | undefined) => fdb.filter((f) => !f.self && f.ifindex === i && f.state === 0x40).map((f) => f.mac).sort();
      return {
        vxlanPort: staticOn(vx),
        tapPort: staticOn(tap),
        vxlan: fdb.filter((f) => f.self && f.ifindex === vx).map((f) => `${f.mac} ${f.dst}`).sort(),
        neighbours: (await nl.listNeighbours()).filter((n) => n.ifindex === vx).map((n) => `${n.ip} ${n.mac}`).sort(),
      };
    },
    tap(name = TAP): MemoryTap {
      const t = [...taps].reverse().find((x) => x.name === name);
      if (!t) throw new Error(`no tap ${name}`);
      return t;
    },
    /** another peer's topology segment arrives by gossip */
    heard(writer: PeerId, hears: PeerId[], version = 1) {
      topology.merge(Buffer.from(JSON.stringify([{ w: writer, v: version, d: hears }])), writer);
    },
  };
  return h;
}

/** a frame from a local container to `dst`, as the TAP reads it: a zeroed 10-byte virtio-net header, then `len` bytes of Ethernet */
function frame(dst: MacKey, len = 100, fill = 0x33): Buffer {
  const e = Buffer.alloc(len, fill);
  e.writeUIntBE(dst, 0, 6);
  e.writeUIntBE(macKeyOf('02:42:0a:20:00:02'), 6, 6);
  e.writeUInt16BE(0x0800, 12);
  return Buffer.concat([Buffer.alloc(10), e]);
}

function arpRequestFor(ip: string): Buffer {
  const f = Buffer.alloc(60);
  f.writeUIntBE(BROADCAST_KEY, 0, 6);
  f.writeUIntBE(macKeyOf('02:42:0a:20:00:02'), 6, 6);
  f.writeUInt16BE(0x0806, 12);
  Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]).copy(f, 14);
  f.writeUIntBE(macKeyOf('02:42:0a:20:00:02'), 22, 6);
  f.writeUInt32BE(parseIp('10.32.0.2'), 28);
  f.writeUInt32BE(parseIp(ip), 38);
  return Buffer.concat([Buffer.alloc(10), f]);
}

/** a frame weft wrote into the TAP: its virtio-net header is zero; the Ethernet frame after it */
function ethOf(written: Buffer): Buffer {
  expect(written.subarray(0, 10)).toEqual(Buffer.alloc(10));
  return written.subarray(10);
}

test('the sleeve budget: a sealed frame of it fits one send of the transport, never more than one datagram allows', () => {
  // 44 chunks of a 1472-byte segment carry 64416 bytes; the envelope (16) and seal (28) and sleeve header (22) come off
  expect(sleeveBudgetFor(44 * 1464)).toBe(44 * 1464 - 16 - 28 - 22);
  expect(sleeveBudgetFor(65499)).toBe(SLEEVE_BUDGET);
  // the mesh's socket on a 1500-byte underlay: a whole TCP super-frame of a weft network (MTU 1450, MSS 1398,
  // 46 segments: the most TCP puts in one 64 KiB GSO packet), with its headers, length prefix and virtio-net
  // header, fits one datagram and is not cut in two
  const superFrame = PACK_PREFIX_BYTES + VNET_HDR_BYTES + 14 + 20 + 32 + 46 * 1398;
  expect(sleeveBudgetFor(singleSendCapacity(1472))).toBeGreaterThanOrEqual(superFrame);
});

describe('DataPlane: devices', () => {
  test('start makes the probe device: VXLAN on the probe VNI, its fixed MAC, up, addressed, and listens on it', async () => {
    const h = await harness();
    await h.dp.start();
    expect(await h.nl.getLink(PROBE_DEVICE)).toMatchObject({
      kind: 'vxlan', mac: PROBE_DEVICE_MAC_TEXT, up: true, vxlan: { vni: PROBE_VNI, port: VXLAN_PORT, learning: false, proxy: false },
    });
    expect((await h.nl.listAddresses(PROBE_DEVICE)).map((a) => a.cidr)).toEqual(['169.254.255.254/30']);
    expect(h.probeSockets).toHaveLength(1);
    expect(h.probeSockets[0]!.handler).toBeDefined();
    await h.dp.stop();
  });

  test('a probe device that already has its MAC is not taken down', async () => {
    const h = await harness();
    await h.dp.start();
    await h.dp.stop();
    const again = new DataPlane({ ...h.deps });
    await h.nl.createVxlan({ name: PROBE_DEVICE, vni: PROBE_VNI, port: VXLAN_PORT, learning: false, mac: PROBE_DEVICE_MAC_TEXT });
    const mark = h.nl.calls.length;
    await again.start();
    expect(h.nl.calls.slice(mark).map((c) => c.op)).toEqual(['setLink', 'addAddress']);
    expect(h.nl.calls.slice(mark)[0]!.args).toEqual({ name: PROBE_DEVICE, change: { up: true } });
    await again.stop();
  });

  test('attach enslaves a VXLAN port (proxy, no learning) and the TAP, both with learning off and isolated on', async () => {
    const h = await harness();
    await h.dp.start();
    const mark = h.nl.calls.length;
    await h.dp.attach(NET);
    // one request per port; the TAP's (virtio-net headers) also lowers gso_max_size so header + frame fit a u16
    expect(h.nl.calls.slice(mark).filter((c) => c.op === 'setLink').map((c) => c.args)).toEqual([
      { name: VX, change: { master: NET.bridge, mtu: NET.mtu, up: true } },
      { name: TAP, change: { master: NET.bridge, mtu: NET.mtu, up: true, gsoMaxSize: TAP_GSO_MAX_SIZE } },
    ]);
    expect(TAP_GSO_MAX_SIZE).toBe(65525);
    const br = (await h.nl.getLink(NET.bridge))!.index;
    expect(await h.nl.getLink(VX)).toMatchObject({
      kind: 'vxlan', masterIndex: br, up: true, mtu: NET.mtu,
      vxlan: { vni: VNI, port: VXLAN_PORT, learning: false, proxy: true },
      bridgePort: { learning: false, isolated: true },
    });
    expect(await h.nl.getLink(TAP)).toMatchObject({
      masterIndex: br, up: true, mtu: NET.mtu, gsoMaxSize: 65525, bridgePort: { learning: false, isolated: true },
    });
    expect((await h.nl.getLink(VX))?.gsoMaxSize).toBe(65536); // left alone
    expect(h.taps.map((t) => t.name)).toEqual([TAP]);
    expect(h.dp.deviceNames(NET)).toEqual([VX, TAP]);
    expect(h.dp.status()).toEqual({
      fastdp: true, vxlanPort: VXLAN_PORT, redirect: { on: false, off: '--no-bpf', devices: 0, subnets: {} },
      sleeve: { relayed: 0, arpAnswered: 0, announced: 0, split: 0, pieces: 0, taps: [{ vni: VNI, name: TAP, framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dropsOut: 0, batches: 0, oneOffBatches: 0 }] },
      traffic: {},
    });
    await h.dp.stop();
  });

  test('attach is idempotent; a TAP whose device vanished is opened again', async () => {
    const h = await harness();
    await h.dp.attach(NET);
    await h.dp.attach(NET);
    expect(h.taps).toHaveLength(1);
    await h.nl.deleteLink(TAP);
    await h.dp.attach(NET);
    expect(h.taps).toHaveLength(2);
    expect(h.taps[0]!.isClosed).toBe(true);
    expect(h.taps[1]!.isClosed).toBe(false);
    expect(await h.nl.getLink(TAP)).toMatchObject({ gsoMaxSize: TAP_GSO_MAX_SIZE, bridgePort: { learning: false, isolated: true } });
    // every attach (the TAP kept or opened again) puts it on the bridge with its gso_max_size, in one request
    const tapSets = h.nl.calls.filter((c) => c.op === 'setLink' && (c.args as { name: string }).name === TAP);
    expect(tapSets.map((c) => (c.args as { change: LinkChange }).change.gsoMaxSize)).toEqual([TAP_GSO_MAX_SIZE, TAP_GSO_MAX_SIZE, TAP_GSO_MAX_SIZE]);
  });

  test('a second network whose subnet hashes to the same VNI is refused', async () => {
    const a = { ...NET, subnet: '10.0.88.0/24', gateway: '10.0.88.1' };
    const b = { ...NET2, subnet: '10.26.17.0/24', gateway: '10.26.17.1' };
    expect(vniForSubnet(parseCidr(a.subnet))).toBe(vniForSubnet(parseCidr(b.subnet)));
    const h = await harness({ bridges: [a, b] });
    await h.dp.attach(a);
    await expect(h.dp.attach(b)).rejects.toThrow(`network 10.26.17.0/24 would share VXLAN id ${vniForSubnet(parseCidr(a.subnet))} with 10.0.88.0/24`);
    expect(await h.nl.getLink(vxlanName(b.id))).toBeUndefined();
    expect(h.taps).toHaveLength(1);
    await h.dp.attach(a); // the same network again is no clash
  });

  test('detach removes the VXLAN device and closes the TAP', async () => {
    const h = await harness();
    await h.dp.start();
    await h.dp.attach(NET);
    await h.dp.detach(NET);
    expect(await h.nl.getLink(VX)).toBeUndefined();
    expect(h.tap().isClosed).toBe(true);
    expect(h.dp.status()).toMatchObject({ sleeve: { taps: [] } });
    await h.dp.detach(NET); // again: nothing left to do
    await h.dp.stop();
  });

  test('fastdp off: no probe device (one left by an earlier run is removed), no VXLAN port, no probes; frames go by the sleeve', async () => {
    const h = await harness({ fastdp: false });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(B, 3)];
    await h.nl.createVxlan({ name: PROBE_DEVICE, vni: PROBE_VNI, port: VXLAN_PORT, learning: false });
    const mark = h.nl.calls.length;
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(3 * TICK);
    expect(await h.nl.getLink(PROBE_DEVICE)).toBeUndefined();
    expect(h.probeSockets).toHaveLength(0);
    expect(await h.nl.getLink(VX)).toBeUndefined();
    expect(h.nl.calls.slice(mark).some((c) => c.op === 'createVxlan')).toBe(false);
    expect(h.mesh.raw).toEqual([]);
    expect(h.dp.deviceNames(NET)).toEqual([TAP]);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'sleeve' });
    expect((await h.nl.getLink(TAP))?.bridgePort).toEqual({ learning: false, isolated: true });
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3)], vxlan: [], neighbours: [] });
    expect(h.dp.status()).toMatchObject({ fastdp: false });
    await h.dp.stop();
    expect(h.nl.calls.slice(mark).filter((c) => c.op === 'deleteLink')).toEqual([{ op: 'deleteLink', args: { name: PROBE_DEVICE } }]);
  });

  test('the bridges in a namespace of their own: the probe device stays here, the VXLAN port is made from here into theirs, the TAP moved there', async () => {
    const h = await harness({ hosts: [A, B], separate: true });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(A, 2), ep(B, 3)];
    await h.dp.start();
    expect((await h.host.getLink(PROBE_DEVICE))?.kind).toBe('vxlan');
    expect(await h.nl.getLink(PROBE_DEVICE)).toBeUndefined();
    await h.dp.attach(NET);
    expect(h.host.calls.filter((c) => c.op === 'createVxlan').map((c) => (c.args as { name: string; netns?: { path: string } })))
      .toEqual([expect.objectContaining({ name: PROBE_DEVICE }), expect.objectContaining({ name: VX, netns: { path: 'bridges', fd: expect.any(Number) } })]);
    expect(h.host.calls.filter((c) => c.op === 'moveLink')).toEqual([{ op: 'moveLink', args: { name: TAP, to: 'bridges' } }]);
    const br = (await h.nl.getLink(NET.bridge))!.index;
    for (const port of [VX, TAP]) {
      expect(await h.nl.getLink(port)).toMatchObject({ masterIndex: br, up: true, bridgePort: { learning: false, isolated: true } });
      expect(await h.host.getLink(port)).toBeUndefined();
    }
    await h.acking(TICK + 20);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'fastdp' });
    expect(await h.kernel()).toEqual({
      vxlanPort: [m(3)], tapPort: [], vxlan: [`${ZERO} ${UNDERLAY[B]}`, `${m(3)} ${UNDERLAY[B]}`], neighbours: [`10.32.0.3 ${m(3)}`],
    });
    // a second attach (the reconciler's) finds both ports where they are
    await h.dp.attach(NET);
    expect(h.taps).toHaveLength(1);
    await h.dp.detach(NET);
    expect(await h.nl.getLink(VX)).toBeUndefined();
    await h.dp.stop();
    expect(await h.host.getLink(PROBE_DEVICE)).toBeUndefined();
  });

  test('a TAP that cannot be moved to the bridges\' namespace is closed, and attach fails', async () => {
    const h = await harness({ separate: true });
    await h.dp.start();
    h.host.failNext('moveLink', 'EEXIST');
    await expect(h.dp.attach(NET)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(h.taps[0]!.isClosed).toBe(true);
    await h.dp.stop();
  });

  test('fastdp off without a leftover probe device starts cleanly', async () => {
    const h = await harness({ fastdp: false });
    await h.dp.start();
    expect(h.nl.calls.filter((c) => c.op === 'deleteLink')).toEqual([{ op: 'deleteLink', args: { name: PROBE_DEVICE }, error: 'ENODEV' }]);
    await h.dp.stop();
  });

  test('stop: no more ticks, the probe socket closed, the probe device and TAPs gone', async () => {
    const h = await harness();
    h.mesh.alive = [B];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.dp.stop();
    const probes = h.mesh.raw.length;
    await h.advance(5 * TICK);
    expect(h.mesh.raw.length).toBe(probes);
    expect(h.probeSockets[0]!.closed).toBe(true);
    expect(await h.nl.getLink(PROBE_DEVICE)).toBeUndefined();
    expect(h.tap().isClosed).toBe(true);
  });

  test('stop goes through even when the probe device cannot be removed', async () => {
    const h = await harness();
    await h.dp.start();
    h.nl.failNext('deleteLink', 'EBUSY');
    await expect(h.dp.stop()).resolves.toBeUndefined();
    expect(h.nl.calls.at(-1)).toEqual({ op: 'deleteLink', args: { name: PROBE_DEVICE }, error: 'EBUSY' });
    expect(h.probeSockets[0]!.closed).toBe(true);
  });
});

describe('DataPlane: paths and the kernel', () => {
  test('entries someone else removed from the kernel come back within RESYNC_MS, with nothing changed in the cluster', async () => {
    const h = await harness({ hosts: [A, B] });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    expect((await h.kernel()).tapPort).toEqual([m(3)]);
    await h.nl.deleteFdb({ dev: TAP, mac: m(3), master: true });
    expect((await h.kernel()).tapPort).toEqual([]);
    await h.advance(RESYNC_MS - 100);
    expect((await h.kernel()).tapPort).toEqual([]);
    await h.advance(200);
    expect((await h.kernel()).tapPort).toEqual([m(3)]);
    await h.dp.stop();
  });

  test('probes go to alive fast-path peers each tick; acks over the mesh make the path fastdp and program the VXLAN port', async () => {
    const h = await harness({ hosts: [A, B] });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(A, 2), ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    expect(h.mesh.raw.map((r) => r.addr)).toEqual([`${UNDERLAY[B]}:${VXLAN_PORT}`]);
    await h.advance(20);
    // not acked yet: the sleeve
    expect(h.dp.pathOf(B)).toEqual({ mode: 'sleeve' });
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3)], vxlan: [], neighbours: [] });
    h.ackProbes();
    await h.acking(TICK + 20);
    expect(h.mesh.raw).toHaveLength(2); // one probe per tick
    expect(h.dp.pathOf(B)).toEqual({ mode: 'fastdp' });
    expect(await h.kernel()).toEqual({
      vxlanPort: [m(3)], tapPort: [], vxlan: [`${ZERO} ${UNDERLAY[B]}`, `${m(3)} ${UNDERLAY[B]}`], neighbours: [`10.32.0.3 ${m(3)}`],
    });
    expect(h.lines).toContainEqual({ level: 'info', obj: { peer: B, mode: 'fastdp', via: undefined, was: 'sleeve' }, msg: 'path to peer changed' });
    // broadcast has no sleeve peer to go to now
    h.tap().inject([frame(BROADCAST_KEY)]);
    expect(h.mesh.sleeve()).toEqual([]);
    expect(h.drops.total).toBe(0);
    await h.dp.stop();
  });

  test('when acks stop, after freshMs the path falls back to the sleeve and the entries move to the TAP port', async () => {
    const h = await harness({ hosts: [A, B] });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.acking(2 * TICK);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'fastdp' });
    // the last ack was at 2 s; the path holds until 8 s
    await h.advance(FRESH - TICK);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'fastdp' });
    await h.advance(TICK + 20);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'sleeve' });
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3)], vxlan: [], neighbours: [] });
    // and the sleeve carries it: unicast to B, ARP for its address answered here
    const f = frame(macKeyOf(m(3)));
    h.tap().inject([f, arpRequestFor('10.32.0.3')]);
    expect(h.mesh.sleeve()).toEqual([{ to: B, header: { hops: 0, origin: A, dest: B, vni: VNI }, frames: [f] }]);
    expect(parseArp(ethOf(h.tap().written[0]!))).toMatchObject({ op: 2, senderMac: macKeyOf(m(3)), senderIp: parseIp('10.32.0.3') });
    expect(h.dp.status()).toMatchObject({ sleeve: { arpAnswered: 1 }, traffic: { [B]: { framesOut: 1, bytesOut: 112, framesIn: 0, bytesIn: 0 } } });
    await h.dp.stop();
  });

  test('a peer that is not heard directly but is listed in a neighbour\'s topology is reached through that neighbour', async () => {
    const h = await harness();
    h.mesh.alive = [B, C];
    h.state.endpoints = [ep(B, 3), ep(C, 4)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    expect([h.dp.pathOf(B), h.dp.pathOf(C)]).toEqual([{ mode: 'sleeve' }, { mode: 'sleeve' }]);
    expect(h.topology.get(A)?.data).toEqual([B, C]);
    // B stops answering; C says it still hears B
    h.mesh.alive = [C];
    h.heard(C, [A, B]);
    await h.advance(TICK + 20);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'relay', via: C });
    expect(h.topology.get(A)?.data).toEqual([C]);
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3), m(4)], vxlan: [], neighbours: [] });
    const f = frame(macKeyOf(m(3)));
    h.tap().inject([f]);
    expect(h.mesh.sleeve()).toEqual([{ to: C, header: { hops: 0, origin: A, dest: B, vni: VNI }, frames: [f] }]);
    // and nobody hears B any more: unreachable, its entries go
    h.heard(C, [A], 2);
    await h.advance(20);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'unreachable' });
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(4)], vxlan: [], neighbours: [] });
    await h.dp.stop();
  });

  test('a topology update alone re-checks paths, without probing', async () => {
    const h = await harness();
    h.mesh.alive = [C];
    await h.dp.start();
    const probes = h.mesh.raw.length;
    expect(h.dp.pathOf(B)).toEqual({ mode: 'unreachable' });
    h.heard(C, [B]);
    expect(h.dp.pathOf(B)).toEqual({ mode: 'relay', via: C });
    expect(h.mesh.raw.length).toBe(probes);
    await h.dp.stop();
  });

  test('our topology segment is published only when whom we hear changes', async () => {
    const h = await harness();
    h.mesh.alive = [C, B];
    await h.dp.start();
    expect(h.topology.get(A)).toEqual({ writer: A, version: 1, data: [B, C] });
    await h.advance(3 * TICK);
    expect(h.topology.get(A)?.version).toBe(1);
    h.mesh.alive = [B];
    await h.advance(TICK);
    expect(h.topology.get(A)).toEqual({ writer: A, version: 2, data: [B] });
    await h.dp.stop();
  });

  test('no probe to a peer without the fast path, without an address, or removed; those get no path or the sleeve', async () => {
    const h = await harness({ hosts: [A, B, C] });
    const D = 'dddddddddddddddd';
    h.mesh.setPeer(B, { nickname: 'b', addr: `${UNDERLAY[B]}:6783` }); // no fastdp
    h.mesh.setPeer(D, { nickname: 'd', addr: '192.168.91.4:6783', removed: true });
    const addrOf = h.mesh.addrOf.bind(h.mesh);
    h.mesh.addrOf = (id) => (id === C ? undefined : addrOf(id));
    h.mesh.alive = [B, C, D];
    h.state.endpoints = [ep(B, 3), ep(C, 4), ep(D, 5)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(3 * TICK);
    expect(h.mesh.raw).toEqual([]);
    expect([h.dp.pathOf(B), h.dp.pathOf(C), h.dp.pathOf(D)]).toEqual([{ mode: 'sleeve' }, { mode: 'sleeve' }, undefined]);
    expect(h.dp.pathOf(A)).toBeUndefined();
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3), m(4)], vxlan: [], neighbours: [] });
    await h.dp.stop();
  });

  test('an ack that matches no probe is counted and changes nothing', async () => {
    const h = await harness();
    h.mesh.alive = [B];
    await h.dp.start();
    h.mesh.handlers.get(MessageType.FastdpAck)!(B, Buffer.alloc(8, 0xee));
    h.mesh.handlers.get(MessageType.FastdpAck)!(C, Buffer.alloc(8, 0xee));
    await h.advance(TICK);
    expect(h.drops.snapshot()).toEqual({ staleProbeAck: 2 });
    expect(h.dp.pathOf(B)).toEqual({ mode: 'sleeve' });
    await h.dp.stop();
  });

  test('a probe arriving on the probe socket is acked over the mesh to its sender', async () => {
    const h = await harness();
    await h.dp.start();
    const nonce = Buffer.from('0102030405060708', 'hex');
    h.probeSockets[0]!.handler!(encodeProbe({ sender: B, nonce }), '192.168.91.2:40000');
    expect(h.mesh.sent).toEqual([{ to: B, type: MessageType.FastdpAck, payload: nonce }]);
    h.probeSockets[0]!.handler!(Buffer.from('junk'), '192.168.91.2:40000');
    expect(h.drops.snapshot()).toEqual({ badProbe: 1 });
    await h.dp.stop();
  });

  test('sleeve datagrams from the mesh are written into the network\'s TAP', async () => {
    const h = await harness();
    await h.dp.start();
    await h.dp.attach(NET);
    const f = frame(macKeyOf('02:42:0a:20:00:02'), 80, 0x44);
    h.mesh.handlers.get(MessageType.Sleeve)!(B, encodeSleeve({ hops: 0, origin: B, dest: A, vni: VNI }, packFrames([f])));
    expect(h.tap().written).toEqual([f]);
    expect(h.dp.status()).toMatchObject({ traffic: { [B]: { framesIn: 1, bytesIn: 92 } } });
    await h.dp.stop();
  });
});

describe('DataPlane: the gateway', () => {
  test('ARP for the gateway never leaves the host; a network without a gateway floods ARP for that address like any other', async () => {
    const { gateway: _gw, ...noGateway } = NET2;
    const h = await harness({ bridges: [NET, noGateway] });
    h.mesh.alive = [B];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.dp.attach(noGateway);
    await h.advance(20);
    h.tap().inject([arpRequestFor('10.32.0.1')]);
    expect(h.mesh.sleeve()).toEqual([]);
    const req = arpRequestFor('10.33.0.1');
    h.tap(tapName(noGateway.id)).inject([req]);
    expect(h.mesh.sleeve()).toEqual([{ to: B, header: { hops: 0, origin: A, dest: B, vni: vniForSubnet(parseCidr(NET2.subnet)) }, frames: [req] }]);
    await h.dp.stop();
  });
});

describe('DataPlane: announcing moves', () => {
  const garps = (t: MemoryTap) => t.written.map((w) => parseArp(ethOf(w))).filter((a) => a && a.op === 1 && a.senderIp === a.targetIp);

  test('an address whose MAC changes gets a gratuitous ARP now and again a second later', async () => {
    const h = await harness();
    h.mesh.alive = [B];
    h.state.endpoints = [ep(A, 2), ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    expect(h.tap().written).toEqual([]); // the first pass tells nobody anything
    h.state.endpoints = [ep(A, 2), ep(B, 3, { mac: '02:42:00:00:00:33', since: 2000 })];
    h.dp.schedule();
    await h.advance(20);
    const expected = { op: 1, senderMac: macKeyOf('02:42:00:00:00:33'), senderIp: parseIp('10.32.0.3'), targetMac: 0, targetIp: parseIp('10.32.0.3') };
    expect(garps(h.tap())).toEqual([expected]);
    await h.advance(TICK - 30);
    expect(garps(h.tap())).toHaveLength(1);
    await h.advance(20);
    expect(garps(h.tap())).toEqual([expected, expected]);
    await h.advance(3 * TICK);
    expect(garps(h.tap())).toHaveLength(2);
    expect(h.dp.status()).toMatchObject({ sleeve: { announced: 2 } });
    await h.dp.stop();
  });

  test('new addresses are announced; a MAC replaced again within the second is not repeated for the old one', async () => {
    const h = await harness();
    h.state.endpoints = [ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    h.state.endpoints = [ep(B, 3, { mac: '02:42:00:00:00:33' }), ep(A, 7)];
    h.dp.schedule();
    await h.advance(500);
    h.state.endpoints = [ep(B, 3, { mac: '02:42:00:00:00:34' }), ep(A, 7)];
    h.dp.schedule();
    await h.advance(2 * TICK);
    expect(garps(h.tap()).map((a) => [a!.senderIp, a!.senderMac])).toEqual([
      [parseIp('10.32.0.3'), macKeyOf('02:42:00:00:00:33')],
      [parseIp('10.32.0.7'), macKeyOf(m(7))],
      [parseIp('10.32.0.3'), macKeyOf('02:42:00:00:00:34')],
      [parseIp('10.32.0.7'), macKeyOf(m(7))], // the second of the first pass; 0:33's second is dropped
      [parseIp('10.32.0.3'), macKeyOf('02:42:00:00:00:34')],
    ]);
    await h.dp.stop();
  });

  test('the gateway address is never announced', async () => {
    const h = await harness();
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    h.state.endpoints = [ep(B, 1)];
    h.dp.schedule();
    await h.advance(2 * TICK);
    expect(h.tap().written).toEqual([]);
    await h.dp.stop();
  });
});

describe('DataPlane: passes', () => {
  test('one pass at a time: a change during a pass runs one more pass after it', async () => {
    const h = await harness();
    h.mesh.alive = [B];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.advance(20);
    h.nl.hold();
    const before = h.nl.listFdbCalls;
    h.dp.schedule();
    await h.advance(10);
    expect(h.nl.listFdbCalls).toBe(before + 1); // stuck in the first listFdb
    h.state.endpoints = [ep(B, 3)];
    h.dp.schedule();
    h.dp.schedule();
    await h.advance(30);
    expect(h.nl.listFdbCalls).toBe(before + 1); // no second pass alongside
    h.nl.open();
    await h.advance(10);
    // the held pass (3 listFdb: both ports, then the VXLAN's own) and exactly one more
    expect(h.nl.listFdbCalls).toBe(before + 6);
    await h.advance(TICK);
    expect(h.nl.listFdbCalls).toBe(before + 6);
    expect(await h.kernel()).toEqual({ vxlanPort: [], tapPort: [m(3)], vxlan: [], neighbours: [] });
    await h.dp.stop();
  });

  test('a network detached during a pass is skipped', async () => {
    const h = await harness({ bridges: [NET, NET2] });
    h.mesh.alive = [B];
    h.state.endpoints = [ep(B, 3), { ...ep(B, 4), subnet: NET2.subnet, ip: '10.33.0.4' }];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.dp.attach(NET2);
    h.nl.hold();
    await h.advance(20); // the pass is held in NET's first listFdb
    await h.dp.detach(NET2);
    h.nl.open();
    await h.advance(20);
    expect(h.nl.listFdbCalls).toBe(3); // NET's pass only: the detached network's devices are not even read
    expect((await h.kernel(NET)).tapPort).toEqual([m(3)]);
    expect(h.nl.calls.filter((c) => c.op === 'setFdb' && (c.args as { dev: string }).dev === tapName(NET2.id))).toEqual([]);
    expect(h.lines.filter((l) => l.level !== 'info')).toEqual([]);
    await h.dp.stop();
  });

  test('a failed pass is logged', async () => {
    const h = await harness();
    h.mesh.alive = [B];
    h.state.endpoints = [ep(B, 3)];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.nl.deleteLink(TAP);
    await h.advance(20);
    expect(h.lines.filter((l) => l.level === 'error').map((l) => [l.msg, (l.obj.err as { code?: string }).code])).toEqual([['could not program the data plane of a network', 'ENODEV']]);
    await h.dp.stop();
  });

  // one network whose applyPlan throws (a device gone, deleted by hand or by a detach racing the pass) must not
  // leave the networks after it stale
  test('a network whose devices are gone does not keep the other networks from being programmed', async () => {
    const h = await harness({ bridges: [NET, NET2] });
    h.mesh.alive = [B];
    await h.dp.start();
    await h.dp.attach(NET);
    await h.dp.attach(NET2);
    await h.advance(20);
    await h.nl.deleteLink(VX); // NET's VXLAN port vanishes
    h.state.endpoints = [{ ...ep(B, 4), subnet: NET2.subnet, ip: '10.33.0.4' }];
    h.dp.schedule();
    await h.advance(20);
    expect((await h.kernel(NET2)).tapPort).toEqual([m(4)]);
  });

  // attach hands the TAP to the sleeve before enslaving it, which can fail; Networks then calls detach, which must close it
  test('detach after a failed attach closes the TAP that attach opened', async () => {
    const h = await harness({ fastdp: false, bridges: [] }); // no bridge: enslaving the TAP fails
    await expect(h.dp.attach(NET)).rejects.toMatchObject({ code: 'ENODEV' });
    expect(h.taps).toHaveLength(1);
    await h.dp.detach(NET);
    expect(h.taps[0]!.isClosed).toBe(true);
  });
});

describe('DataPlane: routed networks', () => {
  const ROUTED: NetworkRecord = { ...NET2, id: '00112233445566778899aabbccddeeff', bridge: 'weft-0011223344', subnet: '10.44.0.0/16', gateway: '10.44.0.1', mtu: 1500, mode: 'routed' };
  const rep = (host: PeerId, n: number, extra: Partial<ClusterEndpoint> = {}) => ep(host, n, { subnet: ROUTED.subnet, ip: `10.44.0.${n}`, ...extra });
  /** weft's routes in the host's namespace, as `ip route` would print them */
  const routes = async (nl: FakeNetlink) => (await nl.listRoutes()).filter((r) => r.protocol === 87)
    .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.priority ? ` metric ${r.priority}` : ''}`).sort();

  async function routedHarness(redirects?: Redirects) {
    const h = await harness({ separate: true, bridges: [], hosts: [A, B, C], ...(redirects ? { redirects } : {}) });
    // the underlay: on-link for the peers' addresses
    await h.host.createBridge({ name: 'eth0' });
    await h.host.setLink('eth0', { up: true });
    await h.host.addAddress('eth0', '192.168.91.1/24');
    // this host's own container, routed by Networks (../network/routed.ts): never the data plane's to touch
    await h.host.createVeth({ name: 'wfhlocal', peerName: 'wfclocal', up: true });
    await h.host.replaceRoute({ dst: '10.44.0.2/32', dev: 'wfhlocal', protocol: 87, priority: 10 });
    h.mesh.alive = [B, C];
    await h.dp.start();
    await h.dp.attach(ROUTED);
    return h;
  }

  test('each container on a peer heard directly gets a route through that peer; no port, no VXLAN, no TAP', async () => {
    const h = await routedHarness();
    h.state.endpoints = [rep(A, 2), rep(B, 3), rep(C, 4), rep(B, 1)];
    h.dp.schedule();
    await h.acking(TICK + 20);
    expect(await routes(h.host)).toEqual([
      '10.44.0.2/32 metric 10', '10.44.0.3/32 via 192.168.91.2 metric 20', '10.44.0.4/32 via 192.168.91.3 metric 20',
    ]);
    expect(h.dp.deviceNames(ROUTED)).toEqual([]);
    expect((await h.nl.listLinks()).map((l) => l.name)).toEqual(['lo']);
    expect((await h.host.listLinks()).map((l) => l.name).filter((n) => n.startsWith('wfv') || n.startsWith('wft'))).toEqual([]);
    await h.dp.stop();
  });

  test('a move replaces the route in place; a peer no longer heard loses its routes; detach takes the rest, not ours', async () => {
    const h = await routedHarness();
    h.state.endpoints = [rep(A, 2), rep(B, 3), rep(C, 4)];
    h.dp.schedule();
    await h.acking(TICK + 20);
    // 10.44.0.3 starts on C: the newer claim wins while B has not withdrawn yet
    h.state.endpoints = [rep(A, 2), rep(B, 3), rep(C, 4), rep(C, 3, { id: 'moved', since: 2000 })];
    h.dp.schedule();
    await h.advance(20);
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10', '10.44.0.3/32 via 192.168.91.3 metric 20', '10.44.0.4/32 via 192.168.91.3 metric 20']);
    // C goes silent, and nobody relays it: its containers are behind the subnet's unreachable route
    h.mesh.alive = [B];
    await h.acking(TICK + 20, [B]);
    expect(h.dp.pathOf(C)).toEqual({ mode: 'unreachable' });
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10']);
    h.mesh.alive = [B, C];
    await h.acking(TICK + 20);
    expect(await routes(h.host)).toHaveLength(3);
    await h.dp.detach(ROUTED);
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10']);
    await h.dp.stop();
  });

  test('a peer off this host\'s links gets no route and one warning; back on a link, its routes and a line saying so', async () => {
    const h = await routedHarness();
    // C is behind a router: its underlay address is on no link of this host
    h.mesh.setPeer(C, { nickname: 'c', addr: '10.99.0.3:6783', fastdp: true });
    h.state.endpoints = [rep(B, 3), rep(C, 4), rep(C, 5)];
    h.dp.schedule();
    await h.acking(TICK + 20, [B]);
    await h.advance(RESYNC_MS + 100);
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10', '10.44.0.3/32 via 192.168.91.2 metric 20']);
    const said = (msg: RegExp) => h.lines.filter((l) => msg.test(l.msg));
    expect(said(/not on a link of this host/)).toEqual([expect.objectContaining({ level: 'warn', obj: { peer: '10.99.0.3' } })]);
    expect(said(/could not program/)).toEqual([]);
    h.mesh.setPeer(C, { nickname: 'c', addr: `${UNDERLAY[C]}:6783`, fastdp: true });
    h.dp.schedule();
    await h.acking(TICK + 20);
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10', '10.44.0.3/32 via 192.168.91.2 metric 20', '10.44.0.4/32 via 192.168.91.3 metric 20', '10.44.0.5/32 via 192.168.91.3 metric 20']);
    expect(said(/on a link of this host again/)).toEqual([expect.objectContaining({ level: 'info', obj: { peer: '10.99.0.3' } })]);
    await h.dp.stop();
  });

  test('redirect programs follow the routes: on the host end and the underlay device; gone after detach; closed at stop', async () => {
    const tcx = new RecordingTcx();
    const h = await routedHarness(new Redirects({ tcx, log: silentLogger }));
    h.state.endpoints = [rep(A, 2), rep(B, 3)];
    h.dp.schedule();
    await h.acking(TICK + 20);
    const index = async (name: string) => (await h.host.getLink(name))!.index;
    expect(tcx.attached()).toEqual(new Map([[await index('wfhlocal'), [ROUTED.subnet]], [await index('eth0'), [ROUTED.subnet]]]));
    expect(h.dp.status()).toMatchObject({ redirect: { on: true, devices: 2 } });
    await h.dp.detach(ROUTED);
    await h.advance(20);
    expect(tcx.links.size + tcx.programs.size).toBe(0);
    await h.dp.attach(ROUTED);
    await h.advance(20);
    expect(tcx.links.size).toBe(2);
    await h.dp.stop();
    expect(tcx.links.size + tcx.programs.size).toBe(0);
  });

  test('without redirects (--no-bpf) the status says so', async () => {
    const h = await routedHarness();
    expect(h.dp.status()).toMatchObject({ redirect: { on: false, off: '--no-bpf', devices: 0 } });
    await h.dp.stop();
  });

  test('a route someone removed comes back within RESYNC_MS; one to an address nobody has goes', async () => {
    const h = await routedHarness();
    h.state.endpoints = [rep(B, 3)];
    h.dp.schedule();
    await h.acking(TICK + 20);
    await h.host.deleteRoute({ dst: '10.44.0.3/32', priority: 20 });
    await h.host.replaceRoute({ dst: '10.44.0.9/32', gateway: '192.168.91.2', protocol: 87, priority: 20 });
    await h.acking(RESYNC_MS + 100);
    expect(await routes(h.host)).toEqual(['10.44.0.2/32 metric 10', '10.44.0.3/32 via 192.168.91.2 metric 20']);
    await h.dp.stop();
  });
});
