import { parseIp } from '../../../src/addr/cidr';
import { ethDst, ethSrc } from '../../../src/dataplane/frames/ethernet';
import { decodeProbe, encodeProbe } from '../../../src/dataplane/frames/probe';
import {
  parseUdpFrame, parseVxlanDatagram, PROBE_DEVICE_MAC, PROBE_LOCAL_IP, PROBE_PORT, PROBE_REMOTE_IP, PROBE_SOURCE_MAC, PROBE_VNI,
} from '../../../src/dataplane/frames/vxlanProbe';
import { FastdpProber } from '../../../src/dataplane/prober';
import type { PeerId } from '../../../src/mesh/peerId';
import { DropCounter } from '../../../src/mesh/stats';
import { FakeScheduler } from '../../../src/util/scheduler';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const FRESH = 6000;

/** nonces 01..01, 02..02, … so each probe's nonce is known */
function counter(): (n: number) => Buffer {
  let i = 0;
  return (n) => Buffer.alloc(n, ++i);
}
const nonce = (i: number) => Buffer.alloc(8, i);

/** random: null leaves the prober on its default source (crypto) */
function harness(self: PeerId = A, o: { random?: ((n: number) => Buffer) | null } = {}) {
  const clock = new FakeScheduler();
  const drops = new DropCounter();
  const raw: Array<{ addr: string; data: Buffer }> = [];
  const acks: Array<{ peer: PeerId; nonce: Buffer }> = [];
  const random = o.random === null ? undefined : (o.random ?? counter());
  const prober = new FastdpProber({
    self, clock, vxlanPort: 8472, freshMs: FRESH, drops,
    sendRaw: (addr, data) => raw.push({ addr, data }),
    sendAck: (peer, n) => acks.push({ peer, nonce: n }),
    ...(random ? { random } : {}),
  });
  return { clock, drops, raw, acks, prober };
}

/** the probe payload inside a datagram as the peer's kernel would hand it over */
function payloadOf(data: Buffer): Buffer {
  const vx = parseVxlanDatagram(data);
  if (!vx) throw new Error('not VXLAN');
  const udp = parseUdpFrame(vx.inner);
  if (!udp) throw new Error('not UDP');
  return Buffer.from(udp.payload);
}

describe('FastdpProber', () => {
  test('probe sends one VXLAN datagram to ip:vxlanPort carrying the probe frame, our id and a fresh nonce', () => {
    const { prober, raw } = harness();
    prober.probe(B, '192.168.91.2');
    expect(raw).toHaveLength(1);
    expect(raw[0]!.addr).toBe('192.168.91.2:8472');
    const data = raw[0]!.data;
    // VXLAN header: the I flag, 24-bit VNI, reserved zero
    expect(data.subarray(0, 8).toString('hex')).toBe('08000000fffffe00');
    const vx = parseVxlanDatagram(data)!;
    expect(vx.vni).toBe(PROBE_VNI);
    expect(ethDst(vx.inner)).toBe(PROBE_DEVICE_MAC);
    expect(ethSrc(vx.inner)).toBe(PROBE_SOURCE_MAC);
    const udp = parseUdpFrame(vx.inner)!;
    expect(udp).toMatchObject({ srcIp: PROBE_REMOTE_IP, dstIp: PROBE_LOCAL_IP, srcPort: PROBE_PORT, dstPort: PROBE_PORT });
    expect(udp.srcIp).toBe(parseIp('169.254.255.253'));
    expect(udp.dstIp).toBe(parseIp('169.254.255.254'));
    expect(decodeProbe(udp.payload)).toEqual({ sender: A, nonce: nonce(1) });
    prober.probe(B, '192.168.91.2');
    expect(decodeProbe(payloadOf(raw[1]!.data))).toEqual({ sender: A, nonce: nonce(2) });
  });

  test('without an injected random source the nonces are random 8-byte values', () => {
    const { prober, raw } = harness(A, { random: null });
    prober.probe(B, '10.0.0.2');
    prober.probe(B, '10.0.0.2');
    const [n1, n2] = raw.map((r) => decodeProbe(payloadOf(r.data))!.nonce);
    expect(n1).toHaveLength(8);
    expect(n1!.equals(n2!)).toBe(false);
  });

  test('a received probe is acked to its sender with its nonce', () => {
    const b = harness(B);
    b.prober.probe(A, '192.168.91.1');
    const a = harness(A);
    a.prober.received(payloadOf(b.raw[0]!.data));
    expect(a.acks).toEqual([{ peer: B, nonce: nonce(1) }]);
    expect(a.drops.total).toBe(0);
    // the ack closes the loop on B
    b.prober.acked(A, a.acks[0]!.nonce);
    expect(b.prober.works(A)).toBe(true);
  });

  test('an ack with the right nonce makes the path work until freshMs has passed', () => {
    const { prober, clock, drops } = harness();
    expect(prober.works(B)).toBe(false);
    prober.probe(B, '192.168.91.2');
    expect(prober.works(B)).toBe(false);
    prober.acked(B, nonce(1));
    expect(prober.works(B)).toBe(true);
    expect(prober.works(C)).toBe(false);
    clock.advance(FRESH - 1);
    expect(prober.works(B)).toBe(true);
    clock.advance(1);
    expect(prober.works(B)).toBe(false);
    expect(drops.total).toBe(0);
  });

  test('every ack restarts the freshness window', () => {
    const { prober, clock } = harness();
    prober.probe(B, '192.168.91.2');
    prober.acked(B, nonce(1));
    clock.advance(5000);
    prober.probe(B, '192.168.91.2');
    prober.acked(B, nonce(2));
    clock.advance(5000);
    expect(prober.works(B)).toBe(true);
    clock.advance(1000);
    expect(prober.works(B)).toBe(false);
  });

  test('a wrong nonce, an ack from a peer never probed, or from another peer than probed is counted and ignored', () => {
    const { prober, drops } = harness();
    prober.probe(B, '192.168.91.2');
    prober.acked(B, nonce(9));
    prober.acked(C, nonce(1));
    prober.acked(B, Buffer.alloc(0));
    expect(drops.snapshot()).toEqual({ staleProbeAck: 3 });
    expect(prober.works(B)).toBe(false);
    expect(prober.works(C)).toBe(false);
    prober.acked(B, nonce(1)); // still outstanding
    expect(prober.works(B)).toBe(true);
  });

  test('only the last 4 nonces are accepted; an acked nonce and the ones before it are used up', () => {
    const { prober, drops } = harness();
    for (let i = 0; i < 5; i++) prober.probe(B, '192.168.91.2'); // nonces 1..5, 1 pushed out
    prober.acked(B, nonce(1));
    expect(drops.get('staleProbeAck')).toBe(1);
    expect(prober.works(B)).toBe(false);
    prober.acked(B, nonce(3)); // 2 and 3 used up
    expect(prober.works(B)).toBe(true);
    prober.acked(B, nonce(2));
    prober.acked(B, nonce(3)); // a replay
    expect(drops.get('staleProbeAck')).toBe(3);
    prober.acked(B, nonce(5));
    prober.acked(B, nonce(4)); // older than the last acked
    expect(drops.get('staleProbeAck')).toBe(4);
  });

  test('a replayed ack does not refresh the path', () => {
    const { prober, clock } = harness();
    prober.probe(B, '192.168.91.2');
    prober.acked(B, nonce(1));
    clock.advance(FRESH - 10);
    prober.acked(B, nonce(1));
    clock.advance(10);
    expect(prober.works(B)).toBe(false);
  });

  test('a probe from ourselves and garbage are counted, not acked', () => {
    const { prober, acks, drops } = harness();
    prober.received(encodeProbe({ sender: A, nonce: nonce(1) }));
    prober.received(Buffer.from('not a probe at all'));
    const v2 = encodeProbe({ sender: B, nonce: nonce(1) });
    v2[4] = 2;
    prober.received(v2);
    prober.received(Buffer.concat([encodeProbe({ sender: B, nonce: nonce(1) }), Buffer.alloc(1)]));
    expect(acks).toEqual([]);
    expect(drops.snapshot()).toEqual({ probeFromSelf: 1, badProbe: 3 });
  });

  test('forget clears the freshness and the outstanding nonces', () => {
    const { prober, drops } = harness();
    prober.probe(B, '192.168.91.2');
    prober.probe(B, '192.168.91.2');
    prober.acked(B, nonce(1));
    expect(prober.works(B)).toBe(true);
    prober.forget(B);
    expect(prober.works(B)).toBe(false);
    prober.acked(B, nonce(2));
    expect(prober.works(B)).toBe(false);
    expect(drops.get('staleProbeAck')).toBe(1);
  });

  test('peers are tracked separately', () => {
    const { prober } = harness();
    prober.probe(B, '192.168.91.2');
    prober.probe(C, '192.168.91.3');
    prober.acked(C, nonce(2));
    expect([prober.works(B), prober.works(C)]).toEqual([false, true]);
    prober.acked(B, nonce(1));
    prober.forget(C);
    expect([prober.works(B), prober.works(C)]).toEqual([true, false]);
  });
});
