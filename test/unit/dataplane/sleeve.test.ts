import { formatIp, parseIp } from '../../../src/addr/cidr';
import { parseArp } from '../../../src/dataplane/frames/arp';
import { ethDst, ethSrc, ethType } from '../../../src/dataplane/frames/ethernet';
import { BROADCAST_KEY, macKeyOf, type MacKey } from '../../../src/dataplane/frames/mac';
import { decodeSleeve, encodeSleeve, type SleeveHeader } from '../../../src/dataplane/frames/sleeve';
import { type PeerTraffic, Sleeve, type SleeveRoutes } from '../../../src/dataplane/sleeve';
import { MemoryTap } from '../../../src/dataplane/tap/memory';
import { packFrames, unpackFrames } from '../../../src/dataplane/tap/packed';
import type { TapDevice, TapStats } from '../../../src/dataplane/tap/tap';
import { readVnetHdr, VNET_HDR_BYTES } from '../../../src/dataplane/tap/vnet';
import { SLEEVE_BUDGET } from '../../../src/dataplane/dataPlane';
import { rng } from './frames/helpers';
import { type GsoSpec, segment, superFrame } from './tap/gso';
import type { PeerId } from '../../../src/mesh/peerId';
import { DropCounter } from '../../../src/mesh/stats';
import { type Bytes, isParts, joined } from '../../../src/mesh/transport/bytes';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const D = 'dddddddddddddddd';
const VNI = 0x123456;

const mac = (text: string): MacKey => macKeyOf(text);
const LOCAL = mac('02:42:0a:20:00:02'); // a container on this host
const MAC_B = mac('02:42:0a:20:00:03');
const MAC_C = mac('02:42:0a:20:00:04');
const MAC_UNKNOWN = mac('02:42:0a:20:00:99');
const IP_LOCAL = parseIp('10.32.0.2');
const IP_B = parseIp('10.32.0.3');
const IP_C = parseIp('10.32.0.4');
const GATEWAY = parseIp('10.32.0.1');

/** the TAP's virtio-net header before every frame; zero: a complete frame, no offload */
const V = 10;

/**
 * a frame as the TAP reads and writes it: a zeroed 10-byte virtio-net header, then an
 * Ethernet frame of `len` bytes, spelled out: dst, src, type, then a recognisable fill
 */
function eth(dst: MacKey, src: MacKey, len: number, fill = 0x5a, type = 0x0800): Buffer {
  const f = Buffer.alloc(V + len, fill);
  f.fill(0, 0, V);
  f.writeUIntBE(dst, V, 6);
  f.writeUIntBE(src, V + 6, 6);
  f.writeUInt16BE(type, V + 12);
  return f;
}

/** an ARP request (RFC 826, Ethernet/IPv4), broadcast, written byte by byte after a zeroed virtio-net header */
function arpRequest(senderMac: MacKey, senderIp: number, targetIp: number, op = 1): Buffer {
  const f = Buffer.alloc(V + 60);
  f.writeUIntBE(BROADCAST_KEY, V + 0, 6);
  f.writeUIntBE(senderMac, V + 6, 6);
  f.writeUInt16BE(0x0806, V + 12);
  f.writeUInt16BE(1, V + 14); // htype Ethernet
  f.writeUInt16BE(0x0800, V + 16); // ptype IPv4
  f[V + 18] = 6;
  f[V + 19] = 4;
  f.writeUInt16BE(op, V + 20);
  f.writeUIntBE(senderMac, V + 22, 6);
  f.writeUInt32BE(senderIp, V + 28);
  // target MAC (32..37) zero
  f.writeUInt32BE(targetIp, V + 38);
  return f;
}

/** the Ethernet frame after the virtio-net header, which must be all zero (weft's own frames, or ones without offload) */
function plain(frame: Buffer): Buffer {
  expect(frame.subarray(0, V)).toEqual(Buffer.alloc(V));
  return frame.subarray(V);
}

const vnetTap = (name: string) => new MemoryTap(name, { vnetHdr: VNET_HDR_BYTES });

/** payload: what send got, joined; parts: as it was given */
interface Sent { to: PeerId; payload: Buffer; parts: Bytes }

function decoded(s: Sent): { header: SleeveHeader; frames: Buffer[] } {
  const d = decodeSleeve(s.payload);
  if (!d.ok) throw new Error(`not a sleeve datagram: ${d.reason}`);
  return { header: d.header, frames: unpackFrames(d.packed) };
}

function routes(r: Partial<SleeveRoutes> = {}): SleeveRoutes {
  return { macs: new Map([[MAC_B, B], [MAC_C, C]]), flood: [B, C], arp: new Map(), ...r };
}

function harness(
  o: { self?: PeerId; budget?: number; nextHop?: (d: PeerId) => PeerId | undefined; routes?: SleeveRoutes; defer?: (flush: () => void) => void } = {},
) {
  const sent: Sent[] = [];
  const drops = new DropCounter();
  const sleeve = new Sleeve({
    self: o.self ?? A,
    send: (to, payload) => sent.push({ to, payload: joined(payload), parts: payload }),
    nextHop: o.nextHop ?? ((d) => d),
    drops,
    budget: o.budget ?? 60_000,
    ...(o.defer ? { defer: o.defer } : {}),
  });
  const tap = vnetTap('wftn1');
  sleeve.attach(VNI, tap);
  sleeve.setRoutes(VNI, o.routes ?? routes());
  return { sleeve, sent, drops, tap };
}

const traffic = (t: Partial<PeerTraffic>): PeerTraffic => ({ framesOut: 0, bytesOut: 0, framesIn: 0, bytesIn: 0, ...t });

describe('Sleeve: frames from the TAP', () => {
  test('a unicast frame for a MAC in the table goes to its peer in one datagram: header and bytes exact', () => {
    const { sent, tap, drops, sleeve } = harness();
    const f = eth(MAC_B, LOCAL, 100);
    tap.inject([f]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(B);
    const p = sent[0]!.payload;
    // version 2, hops 0, origin, dest, vni, then [u16 length][virtio-net header][frame]
    expect(p.subarray(0, 34).toString('hex')).toBe(`0200${A}${B}00123456` + '006e' + '00'.repeat(10));
    expect(p.subarray(24).equals(f)).toBe(true);
    expect(p.length).toBe(22 + 2 + 10 + 100);
    expect(decoded(sent[0]!).header).toEqual({ hops: 0, origin: A, dest: B, vni: VNI });
    expect(drops.total).toBe(0);
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesOut: 1, bytesOut: 112 }));
  });

  test('frames for two peers in one batch: one datagram each, in the order first seen, frames in order', () => {
    const { sent, tap } = harness();
    const [c1, b1, c2] = [eth(MAC_C, LOCAL, 60, 1), eth(MAC_B, LOCAL, 70, 2), eth(MAC_C, LOCAL, 80, 3)];
    expect(tap.inject([c1, b1, c2])).toBe(1);
    expect(sent.map((s) => s.to)).toEqual([C, B]);
    expect(decoded(sent[0]!).frames).toEqual([c1, c2]);
    expect(decoded(sent[1]!).frames).toEqual([b1]);
    expect(decoded(sent[0]!).header.dest).toBe(C);
  });

  test('many frames for one peer are packed into as few datagrams as the budget allows, in order', () => {
    // 10 frames of 1000 bytes (+ 10 of header) take 1012 packed bytes each: 3 fit in 4000 (3036), a 4th would make 4048
    const frames = Array.from({ length: 10 }, (_, i) => eth(MAC_B, LOCAL, 1000, i));
    const small = harness({ budget: 4000 });
    small.tap.inject(frames);
    expect(small.sent.map((s) => decoded(s).frames.length)).toEqual([3, 3, 3, 1]);
    expect(small.sent.flatMap((s) => decoded(s).frames)).toEqual(frames);
    expect(small.sent.every((s) => s.to === B && s.payload.length <= 22 + 4000)).toBe(true);
    // exactly four packed frames' worth: three datagrams
    const exact = harness({ budget: 4048 });
    exact.tap.inject(frames);
    expect(exact.sent.map((s) => decoded(s).frames.length)).toEqual([4, 4, 2]);
    expect(exact.sent.flatMap((s) => decoded(s).frames)).toEqual(frames);
    expect(exact.sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesOut: 10, bytesOut: 10 * 1012 }));
  });

  test('a frame larger than the budget is counted and the rest still go', () => {
    const { sent, tap, drops } = harness({ budget: 100 });
    const big = eth(MAC_B, LOCAL, 200);
    const [s1, s2] = [eth(MAC_B, LOCAL, 50, 1), eth(MAC_B, LOCAL, 24, 2)]; // 62 + 36 packed bytes
    tap.inject([big, s1, big, s2]);
    expect(drops.snapshot()).toEqual({ sleeveFrameTooBig: 2 });
    expect(sent).toHaveLength(1);
    expect(decoded(sent[0]!).frames).toEqual([s1, s2]);
  });

  test('a batch of only oversized frames sends nothing', () => {
    const { sent, tap, drops } = harness({ budget: 100 });
    tap.inject([eth(MAC_B, LOCAL, 200)]);
    expect(sent).toEqual([]);
    expect(drops.snapshot()).toEqual({ sleeveFrameTooBig: 1 });
  });

  test('broadcast goes to every flood peer', () => {
    const { sent, tap } = harness();
    const f = eth(BROADCAST_KEY, LOCAL, 64);
    tap.inject([f]);
    expect(sent.map((s) => s.to)).toEqual([B, C]);
    for (const s of sent) expect(decoded(s).frames).toEqual([f]);
    expect(sent.map((s) => decoded(s).header.dest)).toEqual([B, C]);
  });

  test('multicast and unknown unicast are flooded too; nothing is sent when no peer is in the flood list', () => {
    const { sent, tap, sleeve } = harness();
    const mcast = eth(mac('01:00:5e:00:00:fb'), LOCAL, 64, 1);
    const unknown = eth(MAC_UNKNOWN, LOCAL, 64, 2);
    tap.inject([mcast, unknown]);
    expect(sent.map((s) => [s.to, decoded(s).frames])).toEqual([[B, [mcast, unknown]], [C, [mcast, unknown]]]);
    sent.length = 0;
    sleeve.setRoutes(VNI, routes({ flood: [] }));
    tap.inject([mcast, unknown]);
    expect(sent).toEqual([]);
  });

  test('frames shorter than a virtio-net header and an Ethernet header are counted as runts and not sent', () => {
    const { sent, tap, drops } = harness();
    const ok = eth(BROADCAST_KEY, LOCAL, 14);
    tap.inject([Buffer.alloc(V + 13, 0xff), Buffer.alloc(1, 0xff), ok]);
    expect(drops.snapshot()).toEqual({ sleeveRunt: 2 });
    expect(sent.map((s) => decoded(s).frames)).toEqual([[ok], [ok]]);
  });

  test('before setRoutes (or with empty routes) nothing leaves', () => {
    const sent: Sent[] = [];
    const drops = new DropCounter();
    const sleeve = new Sleeve({ self: A, send: (to, payload) => sent.push({ to, payload: joined(payload), parts: payload }), nextHop: (d) => d, drops, budget: 60_000 });
    const tap = vnetTap('memtap0');
    sleeve.attach(VNI, tap);
    tap.inject([eth(MAC_B, LOCAL, 60), eth(BROADCAST_KEY, LOCAL, 60), arpRequest(LOCAL, IP_LOCAL, IP_B)]);
    expect(sent).toEqual([]);
    expect(tap.written).toEqual([]);
    expect(drops.total).toBe(0);
    expect(sleeve.counters).toEqual({ relayed: 0, arpAnswered: 0, announced: 0, split: 0, pieces: 0 });
  });

  test('setRoutes for a network that is not attached changes nothing', () => {
    const { sleeve, sent, tap } = harness();
    sleeve.setRoutes(VNI + 1, routes({ macs: new Map(), flood: [] }));
    tap.inject([eth(MAC_B, LOCAL, 60)]);
    expect(sent.map((s) => s.to)).toEqual([B]);
  });
});

describe('Sleeve: deferred sending (the daemon flushes once the loop\'s I/O is done)', () => {
  /** a defer that keeps the flushes for the test to run */
  function deferred() {
    const flushes: Array<() => void> = [];
    return { defer: (f: () => void) => void flushes.push(f), flushes, run: () => flushes.splice(0).forEach((f) => f()) };
  }

  test('small frames from several batches (ACKs, one per TAP write on the peer) leave as one datagram at the flush', () => {
    const d = deferred();
    const { sent, tap, sleeve } = harness({ defer: d.defer });
    const acks = [1, 2, 3].map((i) => eth(MAC_B, LOCAL, 66, i));
    for (const a of acks) expect(tap.inject([a])).toBe(1);
    expect(sent).toHaveLength(0);
    expect(d.flushes).toHaveLength(1); // asked once per turn, not once per batch
    d.run();
    expect(sent).toHaveLength(1);
    expect(decoded(sent[0]!).frames).toEqual(acks);
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesOut: 3, bytesOut: 3 * (2 + 76) }));
    // the next turn asks again
    tap.inject([eth(MAC_C, LOCAL, 66, 4)]);
    expect(d.flushes).toHaveLength(1);
    d.run();
    expect(sent.map((x) => x.to)).toEqual([B, C]);
    d.run(); // nothing left: nothing more sent
    expect(sent).toHaveLength(2);
  });

  test('a datagram that is full goes at once, in order; only the last one per peer waits', () => {
    const d = deferred();
    const { sent, tap } = harness({ budget: 20_000, defer: d.defer });
    const big = [1, 2, 3].map((i) => eth(MAC_B, LOCAL, 12_000, i));
    const other = eth(MAC_C, LOCAL, 100, 9);
    tap.inject([big[0]!]);
    tap.inject([other]);
    tap.inject([big[1]!]); // does not fit beside big[0]: that datagram is full
    expect(sent).toHaveLength(0);
    tap.inject([big[2]!]); // the full one leaves now
    expect(sent.map((x) => x.to)).toEqual([B]);
    expect(decoded(sent[0]!).frames).toEqual([big[0]]);
    d.run();
    expect(sent.map((x) => x.to)).toEqual([B, B, B, C]);
    expect(sent.slice(1, 3).map((x) => decoded(x).frames)).toEqual([[big[1]], [big[2]]]);
    expect(decoded(sent[3]!).frames).toEqual([other]);
  });

  test('the next hop is the one at the flush; a peer unreachable by then is counted there', () => {
    const d = deferred();
    let reachable = true;
    const { sent, tap, drops } = harness({ defer: d.defer, nextHop: (p) => (reachable ? p : undefined) });
    tap.inject([eth(MAC_B, LOCAL, 60), eth(MAC_B, LOCAL, 60)]);
    reachable = false;
    d.run();
    expect(sent).toHaveLength(0);
    expect(drops.snapshot()).toEqual({ sleeveUnreachable: 2 });
  });

  test('close drops what waits', () => {
    const d = deferred();
    const { sent, tap, sleeve } = harness({ defer: d.defer });
    tap.inject([eth(MAC_B, LOCAL, 60)]);
    sleeve.close();
    d.run();
    expect(sent).toHaveLength(0);
  });
});

describe('Sleeve: a send that throws', () => {
  test('costs its datagram, counted by its frames; the other peers, the batch and later sends go on; the error is told once per next hop and run of failures', () => {
    const d: Array<() => void> = [];
    const sent: Sent[] = [];
    const errors: unknown[] = [];
    const drops = new DropCounter();
    let failFor: PeerId | undefined = B;
    const sleeve = new Sleeve({
      self: A,
      send: (to, payload) => {
        if (to === failFor) throw new RangeError(`cannot send to ${to}`);
        sent.push({ to, payload: joined(payload), parts: payload });
      },
      nextHop: (p) => p,
      drops,
      budget: 60_000,
      defer: (f) => void d.push(f),
      onSendError: (err) => errors.push(err),
    });
    const tap = vnetTap('wftn1');
    sleeve.attach(VNI, tap);
    sleeve.setRoutes(VNI, routes());
    const turn = (frames: Buffer[]) => {
      tap.inject(frames);
      expect(() => d.splice(0).forEach((f) => f())).not.toThrow();
    };
    turn([eth(MAC_B, LOCAL, 100, 1), eth(MAC_C, LOCAL, 100, 2), eth(MAC_B, LOCAL, 100, 3)]);
    expect(sent.map((x) => x.to)).toEqual([C]);
    expect(drops.snapshot()).toEqual({ sleeveSendFailed: 2 });
    expect(tap.heldBatches).toBe(0); // given back all the same
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({})); // nothing counted as sent
    turn([eth(MAC_B, LOCAL, 100, 4)]); // still failing: counted, not told again
    expect(drops.snapshot()).toEqual({ sleeveSendFailed: 3 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    failFor = undefined;
    turn([eth(MAC_B, LOCAL, 100, 5)]);
    expect(sent.map((x) => x.to)).toEqual([C, B]);
    expect(decoded(sent[1]!).frames).toEqual([eth(MAC_B, LOCAL, 100, 5)]);
    failFor = C; // failing again after a success: told again
    turn([eth(MAC_C, LOCAL, 100, 6)]);
    expect(errors).toHaveLength(2);
    expect(drops.snapshot()).toEqual({ sleeveSendFailed: 4 });
  });

  test('without defer, a send that throws inside the TAP\'s callback does not escape it', () => {
    const drops = new DropCounter();
    const sleeve = new Sleeve({ self: A, send: () => { throw new Error('boom'); }, nextHop: (p) => p, drops, budget: 60_000 });
    const tap = vnetTap('wftn1');
    sleeve.attach(VNI, tap);
    sleeve.setRoutes(VNI, routes());
    expect(() => tap.inject([eth(MAC_B, LOCAL, 100, 1)])).not.toThrow();
    expect(drops.snapshot()).toEqual({ sleeveSendFailed: 1 });
    expect(tap.heldBatches).toBe(0);
  });
});

describe('Sleeve: datagrams in parts', () => {
  test('a datagram goes to send as parts: the frames are views of the TAP batch, not copies, and the parts joined are the datagram', () => {
    const frames = [eth(MAC_B, LOCAL, 100, 1), eth(MAC_B, LOCAL, 200, 2)];
    let batch: Buffer | undefined;
    // parts that lie inside the batch's own memory (small buffers may share its ArrayBuffer: Buffer's pool)
    const inBatch = (p: Uint8Array) => p.buffer === batch!.buffer && p.byteOffset >= batch!.byteOffset && p.byteOffset + p.length <= batch!.byteOffset + batch!.length;
    const sent: Array<Sent & { views: Buffer[] }> = [];
    // what the views hold is read at send time: once sent, the batch is the TAP's again (recycle)
    const send = (to: PeerId, p: Bytes) => {
      if (!isParts(p)) throw new Error('expected parts');
      sent.push({ to, payload: joined(p), parts: p, views: p.filter(inBatch).map((v) => Buffer.from(v)) });
    };
    const sleeve = new Sleeve({ self: A, send, nextHop: (d) => d, drops: new DropCounter(), budget: 60_000 });
    const tap = vnetTap('wftn1');
    const start = tap.start.bind(tap);
    tap.start = (onBatch) => start((packed, count) => ((batch = packed), onBatch(packed, count)));
    sleeve.attach(VNI, tap);
    sleeve.setRoutes(VNI, routes());
    tap.inject(frames);
    expect(sent.map((s) => s.to)).toEqual([B]);
    expect(sent[0]!.views).toEqual(frames);
    expect(sent[0]!.payload).toEqual(encodeSleeve({ hops: 0, origin: A, dest: B, vni: VNI }, packFrames(frames)));
  });
});

describe('Sleeve: the TAP batches it holds', () => {
  test('without defer, every batch goes back to the TAP once its datagrams are sent', () => {
    const { sent, tap } = harness();
    tap.inject([eth(MAC_B, LOCAL, 100, 1), eth(MAC_C, LOCAL, 100, 2)]);
    expect(sent).toHaveLength(2);
    expect(tap.heldBatches).toBe(0);
  });

  test('deferred, batches stay the sleeve\'s until the flush has sent their frames, and go back after it', () => {
    let flush: (() => void) | undefined;
    const { sent, tap } = harness({ budget: 60_000, defer: (f) => void (flush = f) });
    const frames = [eth(MAC_B, LOCAL, 300, 1), eth(MAC_B, LOCAL, 300, 2)];
    tap.inject([frames[0]!]);
    tap.inject([frames[1]!]);
    expect(sent).toEqual([]);
    expect(tap.heldBatches).toBe(2);
    flush!();
    // joined at send time: a batch handed back before its frames left would read as POISON here
    expect(sent.map((s) => s.payload)).toEqual([encodeSleeve({ hops: 0, origin: A, dest: B, vni: VNI }, packFrames(frames))]);
    expect(tap.heldBatches).toBe(0);
    expect(tap.stats().oneOffBatches).toBe(0);
  });

  test('frames that are answered (ARP) or dropped still give their batch back', () => {
    let flush: (() => void) | undefined;
    const { sent, tap } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]) }), defer: (f) => void (flush = f) });
    tap.inject([arpRequest(LOCAL, IP_LOCAL, IP_B)]);
    expect(tap.heldBatches).toBe(1);
    flush!();
    expect(sent).toEqual([]);
    expect(tap.heldBatches).toBe(0);
  });
});

describe('Sleeve: ARP', () => {
  test('a request for an address it knows is answered into the TAP, and not sent anywhere', () => {
    const { sent, tap, sleeve, drops } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]) }) });
    tap.inject([arpRequest(LOCAL, IP_LOCAL, IP_B)]);
    expect(sent).toEqual([]);
    expect(tap.written).toHaveLength(1);
    const reply = plain(tap.written[0]!); // weft's own frame: a zeroed virtio-net header
    expect(ethDst(reply)).toBe(LOCAL);
    expect(ethSrc(reply)).toBe(MAC_B);
    expect(ethType(reply)).toBe(0x0806);
    expect(parseArp(reply)).toEqual({ op: 2, senderMac: MAC_B, senderIp: IP_B, targetMac: LOCAL, targetIp: IP_LOCAL });
    expect(reply.length).toBe(60); // padded to the Ethernet minimum
    expect(sleeve.counters.arpAnswered).toBe(1);
    expect(drops.total).toBe(0);
  });

  test('a request for the gateway is dropped silently: not answered, not sent, not counted', () => {
    const { sent, tap, sleeve, drops } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]), gateway: GATEWAY }) });
    tap.inject([arpRequest(LOCAL, IP_LOCAL, GATEWAY)]);
    expect(sent).toEqual([]);
    expect(tap.written).toEqual([]);
    expect(sleeve.counters.arpAnswered).toBe(0);
    expect(drops.total).toBe(0);
  });

  test('a request for an unknown address is flooded', () => {
    const { sent, tap, sleeve } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]), gateway: GATEWAY }) });
    const req = arpRequest(LOCAL, IP_LOCAL, IP_C);
    tap.inject([req]);
    expect(tap.written).toEqual([]);
    expect(sent.map((s) => [s.to, decoded(s).frames])).toEqual([[B, [req]], [C, [req]]]);
    expect(sleeve.counters.arpAnswered).toBe(0);
  });

  test('broadcast ARP replies and malformed ARP are flooded, never answered', () => {
    const { sent, tap, sleeve } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]) }) });
    const reply = arpRequest(LOCAL, IP_LOCAL, IP_B, 2);
    const truncated = arpRequest(LOCAL, IP_LOCAL, IP_B).subarray(0, V + 30);
    tap.inject([reply, truncated]);
    expect(tap.written).toEqual([]);
    expect(sleeve.counters.arpAnswered).toBe(0);
    expect(sent.map((s) => decoded(s).frames)).toEqual([[reply, truncated], [reply, truncated]]);
  });

  test('a unicast ARP request goes to the MAC it is addressed to, not answered locally', () => {
    const { sent, tap } = harness({ routes: routes({ arp: new Map([[IP_B, MAC_B]]) }) });
    const req = arpRequest(LOCAL, IP_LOCAL, IP_B);
    req.writeUIntBE(MAC_B, V, 6);
    tap.inject([req]);
    expect(tap.written).toEqual([]);
    expect(sent.map((s) => [s.to, decoded(s).frames])).toEqual([[B, [req]]]);
  });
});

describe('Sleeve: next hops', () => {
  test('a relay: the datagram goes to the relay, its dest stays the peer', () => {
    const { sent, tap } = harness({ nextHop: (d) => (d === C ? B : d) });
    const f = eth(MAC_C, LOCAL, 60);
    tap.inject([f]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(B);
    expect(decoded(sent[0]!)).toEqual({ header: { hops: 0, origin: A, dest: C, vni: VNI }, frames: [f] });
  });

  test('an unreachable peer: every frame for it counted, other peers unaffected, no traffic recorded', () => {
    const { sent, tap, drops, sleeve } = harness({ nextHop: (d) => (d === C ? undefined : d) });
    tap.inject([eth(MAC_C, LOCAL, 60, 1), eth(MAC_C, LOCAL, 60, 2), eth(MAC_B, LOCAL, 60, 3)]);
    expect(drops.snapshot()).toEqual({ sleeveUnreachable: 2 });
    expect(sent.map((s) => s.to)).toEqual([B]);
    expect(sleeve.trafficByPeer().has(C)).toBe(false);
  });
});

describe('Sleeve: datagrams from the mesh', () => {
  const f1 = eth(LOCAL, MAC_B, 60, 1);
  const f2 = eth(BROADCAST_KEY, MAC_B, 90, 2);
  const dgram = (h: Partial<SleeveHeader>, frames = [f1, f2]) => encodeSleeve({ hops: 0, origin: B, dest: A, vni: VNI, ...h }, packFrames(frames));

  test('one for us is written to the TAP of its network, frames intact, counted per origin', () => {
    const { sleeve, tap, sent, drops } = harness();
    sleeve.receive(dgram({}));
    sleeve.receive(dgram({ origin: C }, [f1]));
    expect(tap.written).toEqual([f1, f2, f1]);
    expect(sent).toEqual([]);
    expect(drops.total).toBe(0);
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesIn: 2, bytesIn: 2 + 70 + 2 + 100 }));
    expect(sleeve.trafficByPeer().get(C)).toEqual(traffic({ framesIn: 1, bytesIn: 72 }));
  });

  test('the right TAP when several networks are attached', () => {
    const { sleeve, tap } = harness();
    const other = vnetTap('wftn2');
    sleeve.attach(VNI + 1, other);
    sleeve.receive(dgram({ vni: VNI + 1 }, [f2]));
    expect(other.written).toEqual([f2]);
    expect(tap.written).toEqual([]);
  });

  test('a relayed datagram (hops 1) for us is accepted', () => {
    const { sleeve, tap } = harness();
    sleeve.receive(dgram({ hops: 1, origin: C }));
    expect(tap.written).toEqual([f1, f2]);
  });

  test('an empty datagram for us writes nothing and drops nothing', () => {
    const { sleeve, tap, drops } = harness();
    sleeve.receive(dgram({}, []));
    expect(tap.written).toEqual([]);
    expect(drops.total).toBe(0);
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({}));
  });

  test('an unknown network is counted', () => {
    const { sleeve, tap, drops } = harness();
    sleeve.receive(dgram({ vni: 7 }));
    expect(drops.snapshot()).toEqual({ sleeveUnknownNetwork: 1 });
    expect(tap.written).toEqual([]);
    expect(sleeve.trafficByPeer().size).toBe(0);
  });

  test('frames the TAP does not take are counted as tapFull', () => {
    const { sleeve, tap, drops } = harness();
    tap.setFull(true);
    sleeve.receive(dgram({}));
    expect(drops.snapshot()).toEqual({ tapFull: 2 });
    expect(tap.written).toEqual([]);
  });

  test('one for a peer we reach directly, with hops 0, is relayed with hops 1 and otherwise unchanged', () => {
    const { sleeve, sent, tap, drops } = harness();
    const d = dgram({ dest: C });
    const copy = Buffer.from(d);
    sleeve.receive(d);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(C);
    const out = sent[0]!.payload;
    expect(out[1]).toBe(1);
    expect(Buffer.concat([out.subarray(0, 1), out.subarray(2)]).equals(Buffer.concat([copy.subarray(0, 1), copy.subarray(2)]))).toBe(true);
    expect(decoded(sent[0]!)).toEqual({ header: { hops: 1, origin: B, dest: C, vni: VNI }, frames: [f1, f2] });
    expect(d.equals(copy)).toBe(true); // the received buffer is not modified
    expect(sleeve.counters.relayed).toBe(1);
    expect(tap.written).toEqual([]);
    expect(drops.total).toBe(0);
  });

  test('relaying does not need the network attached here', () => {
    const { sleeve, sent } = harness();
    sleeve.receive(dgram({ dest: C, vni: 99 }));
    expect(sent.map((s) => s.to)).toEqual([C]);
  });

  test('no second relay: hops 1, a dest only reached through a relay, or an unreachable dest', () => {
    const { sleeve, sent, drops } = harness({ nextHop: (d) => (d === C ? C : d === D ? B : undefined) });
    sleeve.receive(dgram({ dest: C, hops: 1 }));
    sleeve.receive(dgram({ dest: D }));
    sleeve.receive(dgram({ dest: 'eeeeeeeeeeeeeeee' }));
    expect(sent).toEqual([]);
    expect(drops.snapshot()).toEqual({ sleeveNoRelay: 3 });
    expect(sleeve.counters.relayed).toBe(0);
  });

  test('malformed payloads are counted by reason', () => {
    const { sleeve, sent, tap, drops } = harness();
    const good = dgram({});
    sleeve.receive(Buffer.alloc(0));
    sleeve.receive(good.subarray(0, 21));
    for (const version of [1, 3]) {
      // 1: frames without virtio-net headers, from a weft before them
      const other = Buffer.from(good);
      other[0] = version;
      sleeve.receive(other);
    }
    sleeve.receive(good.subarray(0, good.length - 1)); // the last frame ends past the datagram
    sleeve.receive(Buffer.concat([good, Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5])])); // a 5-byte "frame"
    // a 23-byte frame: an Ethernet header's worth, but no room for the virtio-net header too
    sleeve.receive(Buffer.concat([good, Buffer.from([0x00, 0x17]), Buffer.alloc(23, 0xff)]));
    expect(drops.snapshot()).toEqual({ 'sleeve:short': 2, 'sleeve:version': 2, 'sleeve:badFrames': 3 });
    expect(sent).toEqual([]);
    expect(tap.written).toEqual([]);
  });
});

describe('Sleeve: announce, detach, close', () => {
  test('announce writes a gratuitous ARP into the TAP', () => {
    const { sleeve, tap, sent } = harness();
    sleeve.announce(VNI, MAC_B, IP_B);
    expect(tap.written).toHaveLength(1);
    const g = plain(tap.written[0]!);
    expect(ethDst(g)).toBe(BROADCAST_KEY);
    expect(ethSrc(g)).toBe(MAC_B);
    const a = parseArp(g)!;
    expect(a).toEqual({ op: 1, senderMac: MAC_B, senderIp: IP_B, targetMac: 0, targetIp: IP_B });
    expect(formatIp(a.senderIp)).toBe('10.32.0.3');
    expect(sleeve.counters.announced).toBe(1);
    expect(sent).toEqual([]);
  });

  test('announce for a network that is not attached does nothing', () => {
    const { sleeve, tap } = harness();
    sleeve.announce(VNI + 1, MAC_B, IP_B);
    expect(tap.written).toEqual([]);
    expect(sleeve.counters.announced).toBe(0);
  });

  test('detach closes the TAP; later announces and datagrams for it are ignored', () => {
    const { sleeve, tap, drops } = harness();
    sleeve.detach(VNI);
    expect(tap.isClosed).toBe(true);
    sleeve.announce(VNI, MAC_B, IP_B);
    expect(sleeve.counters.announced).toBe(0);
    sleeve.receive(encodeSleeve({ hops: 0, origin: B, dest: A, vni: VNI }, packFrames([eth(LOCAL, MAC_B, 60)])));
    expect(drops.snapshot()).toEqual({ sleeveUnknownNetwork: 1 });
    expect(sleeve.tapStats()).toEqual([]);
    sleeve.detach(VNI); // again: nothing to do
  });

  test('a batch the TAP delivers after detach is ignored', () => {
    let onBatch: ((packed: Buffer, count: number) => void) | undefined;
    let closed = 0;
    const stub: TapDevice = {
      name: 'stub',
      vnetHdr: VNET_HDR_BYTES,
      start: (fn) => void (onBatch = fn),
      write: () => 0,
      recycle: () => undefined,
      stats: (): TapStats => ({ framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dropsOut: 0, batches: 0, oneOffBatches: 0 }),
      close: () => void closed++,
    };
    const sent: Sent[] = [];
    const drops = new DropCounter();
    const sleeve = new Sleeve({ self: A, send: (to, payload) => sent.push({ to, payload: joined(payload), parts: payload }), nextHop: (d) => d, drops, budget: 60_000 });
    sleeve.attach(VNI, stub);
    sleeve.setRoutes(VNI, routes());
    onBatch!(packFrames([eth(BROADCAST_KEY, LOCAL, 60)]), 1);
    expect(sent).toHaveLength(2);
    sleeve.detach(VNI);
    expect(closed).toBe(1);
    onBatch!(packFrames([eth(BROADCAST_KEY, LOCAL, 60)]), 1);
    expect(sent).toHaveLength(2);
    expect(drops.total).toBe(0);
  });

  test('close closes every TAP; tapStats lists the attached ones', () => {
    const { sleeve, tap } = harness();
    const other = vnetTap('wftn2');
    sleeve.attach(VNI + 1, other);
    tap.inject([eth(BROADCAST_KEY, LOCAL, 60)]);
    expect(sleeve.tapStats()).toEqual([
      { vni: VNI, name: 'wftn1', framesIn: 1, bytesIn: 70, framesOut: 0, bytesOut: 0, dropsOut: 0, batches: 1, oneOffBatches: 0 },
      { vni: VNI + 1, name: 'wftn2', framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dropsOut: 0, batches: 0, oneOffBatches: 0 },
    ]);
    sleeve.close();
    expect([tap.isClosed, other.isClosed]).toEqual([true, true]);
    expect(sleeve.tapStats()).toEqual([]);
  });
});

describe('Sleeve: virtio-net headers and GSO super-frames', () => {
  const bytes = rng(0x61e);
  /** a super-frame (tap/gso.ts) addressed to `dst` */
  const gso = (dst: MacKey, spec: GsoSpec) => {
    const f = superFrame(spec);
    f.writeUIntBE(dst, V, 6);
    return f;
  };
  /** what the kernel would put on a wire for these frames (checksums complete, one segment each), as one buffer */
  const onWire = (frames: Buffer[]) => Buffer.concat(frames.flatMap(segment));

  test('a TAP without virtio-net headers is refused: the datagram format carries them', () => {
    const { sleeve } = harness();
    const plainTap = new MemoryTap('wftplain');
    expect(() => sleeve.attach(VNI + 1, plainTap)).toThrow(expect.objectContaining({ name: 'TapError', code: 'EINVAL', message: expect.stringMatching(/needs virtio-net headers \(10 bytes\), it has 0/) }));
    expect(plainTap.isClosed).toBe(false);
  });

  test('a super-frame that fits goes whole, its header unchanged, and comes out of the peer\'s TAP as it went in', () => {
    const n = new Map<PeerId, { sleeve: Sleeve; tap: MemoryTap }>();
    for (const id of [A, B]) {
      const sleeve = new Sleeve({ self: id, send: (next, payload) => n.get(next)!.sleeve.receive(joined(payload)), nextHop: (d) => d, drops: new DropCounter(), budget: SLEEVE_BUDGET });
      const tap = vnetTap(`tap-${id[0]}`);
      sleeve.attach(VNI, tap);
      sleeve.setRoutes(VNI, routes());
      n.set(id, { sleeve, tap });
    }
    // 46 segments at MSS 1398 (an MTU of 1450): 64366 bytes, the most TCP puts in one super-frame there
    const f = gso(MAC_B, { payload: bytes(46 * 1398), mss: 1398 });
    expect(f.length + 2).toBeLessThanOrEqual(SLEEVE_BUDGET);
    n.get(A)!.tap.inject([f]);
    expect(n.get(B)!.tap.written).toHaveLength(1);
    expect(n.get(B)!.tap.written[0]!.equals(f)).toBe(true); // (equals: jest's toEqual is slow on 64 KiB)
    expect(readVnetHdr(n.get(B)!.tap.written[0]!)).toMatchObject({ flags: 1, gsoType: 1, gsoSize: 1398 });
    expect(n.get(A)!.sleeve.counters).toMatchObject({ split: 0, pieces: 0 });
  });

  test('the real budget: a super-frame at MSS 1448 (an MTU of 1500) does not fit and is cut in two', () => {
    const { sent, tap, sleeve, drops } = harness({ budget: SLEEVE_BUDGET });
    const f = gso(MAC_B, { payload: bytes(45 * 1448), mss: 1448 });
    expect(f.length + 2).toBeGreaterThan(SLEEVE_BUDGET);
    tap.inject([f]);
    expect(sent).toHaveLength(2);
    const pieces = sent.flatMap((s) => decoded(s).frames);
    expect(pieces.map((p) => (p.length - 64) / 1448)).toEqual([44, 1]);
    expect(onWire(pieces).equals(onWire([f]))).toBe(true);
    expect(sleeve.counters).toMatchObject({ split: 1, pieces: 2 });
    expect(sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesOut: 2, bytesOut: pieces.reduce((n, p) => n + 2 + p.length, 0) }));
    expect(drops.total).toBe(0);
  });

  test('cut to fit: the first piece fills what a datagram has left, in order with the frames around it', () => {
    const budget = 20_000;
    const { sent, tap, sleeve } = harness({ budget });
    const small = eth(MAC_B, LOCAL, 6000, 1);
    const big = gso(MAC_B, { payload: bytes(40 * 1000 + 10), mss: 1000, tcpFlags: 0x19 }); // ACK PSH FIN
    const after = eth(MAC_B, LOCAL, 100, 2);
    const toC = eth(MAC_C, LOCAL, 100, 3);
    tap.inject([small, big, toC, after]);
    const toB = sent.filter((x) => x.to === B).map(decoded);
    // 20000 - 6012 = 13988 left: 13 segments (64 bytes of headers); then 19 per datagram (19064 + 2 <= 20000); the last 9 (one short)
    expect(toB.map((d) => d.frames.length)).toEqual([2, 1, 2]);
    const frames = toB.flatMap((d) => d.frames);
    expect(frames[0]).toEqual(small);
    expect(frames[frames.length - 1]).toEqual(after);
    const pieces = frames.slice(1, -1);
    expect(pieces.map((p) => Math.ceil((p.length - 64) / 1000))).toEqual([13, 19, 9]);
    expect(onWire(pieces).equals(onWire([big]))).toBe(true);
    expect(toB.every((d) => d.header.dest === B)).toBe(true);
    expect(sent.filter((x) => x.to === C).map((x) => decoded(x).frames)).toEqual([[toC]]);
    expect(sent.every((x) => x.payload.length <= 22 + budget)).toBe(true);
    expect(sleeve.counters).toMatchObject({ split: 1, pieces: 3 });
  });

  test('a flooded super-frame (unknown unicast) is cut the same way for every peer', () => {
    const { sent, tap } = harness({ budget: 20_000 });
    const big = gso(MAC_UNKNOWN, { v6: true, payload: bytes(30 * 1200), mss: 1200 });
    tap.inject([big]);
    for (const peer of [B, C]) {
      const pieces = sent.filter((x) => x.to === peer).flatMap((x) => decoded(x).frames);
      expect(pieces).toHaveLength(2);
      expect(onWire(pieces).equals(onWire([big]))).toBe(true);
    }
  });

  test('too big and not a super-frame the sleeve can cut (not GSO, or a VLAN tag): counted, not sent', () => {
    const { sent, tap, drops } = harness({ budget: 5000 });
    const notGso = eth(MAC_B, LOCAL, 6000);
    const tagged = gso(MAC_B, { payload: bytes(10 * 1000), mss: 1000 });
    tagged.writeUInt16BE(0x8100, V + 12);
    const fine = gso(MAC_B, { payload: bytes(10 * 1000), mss: 1000 });
    tap.inject([notGso, tagged, fine]);
    expect(drops.snapshot()).toEqual({ sleeveFrameTooBig: 2 });
    expect(onWire(sent.flatMap((x) => decoded(x).frames)).equals(onWire([fine]))).toBe(true);
  });

  test('a budget too small for one segment and its headers: counted, not sent', () => {
    const { sent, tap, drops } = harness({ budget: 1000 });
    tap.inject([gso(MAC_B, { payload: bytes(5000), mss: 1000 })]);
    expect(sent).toEqual([]);
    expect(drops.snapshot()).toEqual({ sleeveFrameTooBig: 1 });
  });

  test('a received super-frame is written with its header as it came', () => {
    const { sleeve, tap, drops } = harness();
    const f = gso(LOCAL, { udp: true, payload: bytes(20 * 1400), mss: 1400 });
    sleeve.receive(encodeSleeve({ hops: 0, origin: B, dest: A, vni: VNI }, packFrames([f])));
    expect(tap.written).toHaveLength(1);
    expect(tap.written[0]!.equals(f)).toBe(true);
    expect(drops.total).toBe(0);
  });
});

describe('Sleeves wired together', () => {
  /** peers whose send() is the other's receive() */
  function cluster(ids: PeerId[], hop: (self: PeerId, dest: PeerId) => PeerId | undefined, table: SleeveRoutes) {
    const nodes = new Map<PeerId, { sleeve: Sleeve; tap: MemoryTap; drops: DropCounter }>();
    for (const id of ids) {
      const drops = new DropCounter();
      const sleeve = new Sleeve({ self: id, send: (next, payload) => nodes.get(next)!.sleeve.receive(joined(payload)), nextHop: (d) => hop(id, d), drops, budget: 60_000 });
      const tap = vnetTap(`tap-${id[0]}`);
      sleeve.attach(VNI, tap);
      sleeve.setRoutes(VNI, table);
      nodes.set(id, { sleeve, tap, drops });
    }
    return nodes;
  }

  test('two back to back: a frame from A\'s TAP comes out of B\'s, and the answer back', () => {
    const macA = LOCAL;
    const n = cluster([A, B], (_s, d) => d, { macs: new Map([[macA, A], [MAC_B, B]]), flood: [], arp: new Map() });
    const there = eth(MAC_B, macA, 300, 7);
    n.get(A)!.tap.inject([there]);
    expect(n.get(B)!.tap.written).toEqual([there]);
    const back = eth(macA, MAC_B, 200, 8);
    n.get(B)!.tap.inject([back]);
    expect(n.get(A)!.tap.written).toEqual([back]);
    expect(n.get(A)!.sleeve.trafficByPeer().get(B)).toEqual(traffic({ framesOut: 1, bytesOut: 312, framesIn: 1, bytesIn: 212 }));
    expect([...n.values()].map((x) => x.drops.total)).toEqual([0, 0]);
  });

  test('three in a line: A reaches C only through B, which relays once', () => {
    // A hears B; B hears A and C; C hears B
    const hop = (self: PeerId, d: PeerId) => (self === A && d === C ? B : self === C && d === A ? B : d);
    const n = cluster([A, B, C], hop, { macs: new Map([[LOCAL, A], [MAC_B, B], [MAC_C, C]]), flood: [], arp: new Map() });
    const f = eth(MAC_C, LOCAL, 500, 9);
    n.get(A)!.tap.inject([f]);
    expect(n.get(C)!.tap.written).toEqual([f]);
    expect(n.get(B)!.tap.written).toEqual([]);
    expect(n.get(B)!.sleeve.counters.relayed).toBe(1);
    expect(n.get(C)!.sleeve.trafficByPeer().get(A)).toEqual(traffic({ framesIn: 1, bytesIn: 512 }));
    const back = eth(LOCAL, MAC_C, 80, 3);
    n.get(C)!.tap.inject([back]);
    expect(n.get(A)!.tap.written).toEqual([back]);
    expect(n.get(B)!.sleeve.counters.relayed).toBe(2);
  });
});
