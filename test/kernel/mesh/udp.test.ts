/**
 * UdpTransport on real sockets, loopback only. Run inside `unshare --net`
 * with --experimental-vm-modules (dgram-as-promised is ESM).
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { deriveKey, Opener, Sealer } from '../../../src/mesh/crypto';
import { decodeEnvelope, encodeEnvelope } from '../../../src/mesh/envelope';
import { FramedTransport } from '../../../src/mesh/transport/framed';
import { HEADER_BYTES, MAX_UDP_PAYLOAD as MAX_FRAME, parseRecords } from '../../../src/mesh/transport/framing';
import { MessageType } from '../../../src/mesh/messageTypes';
import { UdpTransport } from '../../../src/mesh/transport/udp';
import type { Addr } from '../../../src/mesh/transport/types';

const LO = '127.0.0.1';
/** the send-buffer pool of a transport that sent only its callers' own buffers */
const UNUSED_POOL = { allocated: 0, reused: 0, oneOff: 0, doubleGives: 0, free: 0 };
const open: UdpTransport[] = [];

beforeAll(() => {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function transport(): Promise<UdpTransport> {
  const t = await UdpTransport.open({ host: LO, port: 0 });
  open.push(t);
  return t;
}

interface Got {
  data: Buffer;
  from: Addr;
}

function collect(t: UdpTransport): Got[] {
  const got: Got[] = [];
  t.onReceive((data, from) => got.push({ data, from }));
  return got;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('two transports exchange datagrams both ways; from is the sender address', async () => {
  const a = await transport();
  const b = await transport();
  expect(a.address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(a.address).not.toBe(b.address);
  const atA = collect(a);
  const atB = collect(b);
  for (let i = 0; i < 50; i++) a.send(b.address, Buffer.from(`a${i}`));
  for (let i = 0; i < 50; i++) b.send(a.address, Buffer.from(`b${i}`));
  await until(() => atA.length === 50 && atB.length === 50);
  expect(new Set(atB.map((g) => g.data.toString()))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `a${i}`)));
  expect(atB.every((g) => g.from === a.address)).toBe(true);
  expect(atA.every((g) => g.from === b.address)).toBe(true);
  expect(a.stats).toEqual({ sent: 50, received: 50, dropped: {}, sendBuffers: UNUSED_POOL });
});

test('sealed envelopes survive the trip and open on the other side', async () => {
  const key = deriveKey('kernel test');
  const a = await transport();
  const b = await transport();
  const atB = collect(b);
  const payload = Buffer.alloc(1400, 0x5a);
  a.send(b.address, encodeEnvelope({ type: MessageType.Gossip, sender: '00000000000000aa', payload, sealer: new Sealer(key, '00000000000000aa') }));
  await until(() => atB.length === 1);
  expect(decodeEnvelope(atB[0].data, new Opener(key))).toEqual({ ok: true, type: MessageType.Gossip, sender: '00000000000000aa', payload });
});

test('oversized sends and bad addresses are counted, not thrown; a full-size datagram goes through', async () => {
  const a = await transport();
  const b = await transport();
  const atB = collect(b);
  expect(() => a.send(b.address, Buffer.alloc(MAX_FRAME + 1))).not.toThrow();
  expect(() => a.send('not an address', Buffer.from('x'))).not.toThrow();
  a.send(b.address, Buffer.alloc(MAX_FRAME, 1));
  await until(() => atB.length === 1);
  expect(atB[0].data.length).toBe(MAX_FRAME);
  expect(a.stats).toEqual({ sent: 1, received: 0, dropped: { badAddr: 1, tooLarge: 1 }, sendBuffers: UNUSED_POOL });
});

test('parts are sent as one datagram, their concatenation', async () => {
  const a = await transport();
  const b = await transport();
  const atB = collect(b);
  const parts = [Buffer.from('head|'), new Uint8Array([0x41, 0x42]), Buffer.alloc(0), Buffer.alloc(30_000, 0x7a)];
  a.send(b.address, parts);
  a.send(b.address, [Buffer.alloc(MAX_FRAME, 1), Buffer.from('x')]); // one byte too many: counted
  await until(() => atB.length === 1);
  expect(atB[0].data.equals(Buffer.concat(parts))).toBe(true);
  expect(a.drops.snapshot()).toEqual({ tooLarge: 1 });
});

test('an unreachable peer is not an error for the sender', async () => {
  const a = await transport();
  const probe = await transport();
  const dead = probe.address;
  await probe.close();
  for (let i = 0; i < 5; i++) a.send(dead, Buffer.from('anyone?'));
  await new Promise((r) => setTimeout(r, 50));
  expect(a.stats.sent).toBe(5);
});

test('garbage from a raw socket reaches the handler as bytes; the envelope rejects it', async () => {
  const b = await transport();
  const atB = collect(b);
  const raw = createSocket('udp4');
  const garbage = Buffer.from('definitely not a weft frame');
  await new Promise<void>((resolve, reject) => raw.send(garbage, Number(b.address.split(':')[1]), LO, (e) => (e ? reject(e) : resolve())));
  await until(() => atB.length === 1);
  raw.close();
  expect(atB[0].data).toEqual(garbage);
  expect(decodeEnvelope(atB[0].data)).toEqual({ ok: false, reason: 'badMagic' });
});

test('a throwing handler is counted and reported, and the socket keeps receiving', async () => {
  const errors: unknown[] = [];
  const b = await UdpTransport.open({ host: LO, port: 0, onError: (e) => errors.push(e) });
  open.push(b);
  const a = await transport();
  let n = 0;
  b.onReceive(() => {
    n++;
    if (n === 1) throw new Error('handler bug');
  });
  a.send(b.address, Buffer.from('1'));
  a.send(b.address, Buffer.from('2'));
  await until(() => n === 2);
  expect(b.stats.dropped).toEqual({ handlerError: 1 });
  expect(errors).toHaveLength(1);
});

test('close is idempotent; a closed transport sends nothing and frees its port', async () => {
  const a = await UdpTransport.open({ host: LO, port: 0 });
  const port = Number(a.address.split(':')[1]);
  await Promise.all([a.close(), a.close()]);
  await a.close();
  a.send('127.0.0.1:9', Buffer.from('x'));
  expect(a.stats.dropped).toEqual({ closed: 1 });
  const again = await UdpTransport.open({ host: LO, port });
  open.push(again);
  expect(again.address).toBe(`${LO}:${port}`);
});

test('open refuses a bad host or port, and a port in use', async () => {
  await expect(UdpTransport.open({ host: 'localhost', port: 0 })).rejects.toThrow(/not an IPv4 address/);
  await expect(UdpTransport.open({ host: LO, port: 70000 })).rejects.toThrow(/0\.\.65535/);
  const a = await transport();
  await expect(UdpTransport.open({ host: LO, port: Number(a.address.split(':')[1]) })).rejects.toThrow(/EADDRINUSE/);
});

describe('GSO and GRO under the framing', () => {
  const S = 1472;
  async function offloaded(o: { segment?: number; gro?: boolean }): Promise<UdpTransport> {
    const t = await UdpTransport.open({ host: LO, port: 0, ...o });
    open.push(t);
    return t;
  }

  test('the kernel grants both; without them nothing is asked', async () => {
    expect((await offloaded({ segment: S, gro: true })).offload).toEqual({ segment: S, gro: true, errors: [] });
    expect((await transport()).offload).toEqual({ gro: false, errors: [] });
  });

  test('a 60 KB message leaves as datagrams of at most the segment, cut on record boundaries, and comes back whole', async () => {
    const a = await offloaded({ segment: S, gro: true });
    const plain = await transport(); // no GRO: sees each datagram the kernel cut
    const datagrams = collect(plain);
    const fa = new FramedTransport(a, { segment: S, now: Date.now });
    const message = Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 7) & 255));
    fa.send(plain.address, message);
    const chunks = Math.ceil(message.length / (S - HEADER_BYTES));
    await until(() => datagrams.length === chunks);
    expect(Math.max(...datagrams.map((d) => d.data.length))).toBe(S);
    const rebuilt = Buffer.concat(datagrams.flatMap((d) => parseRecords(d.data).records).sort((x, y) => x.index - y.index).map((r) => r.body));
    expect(rebuilt.equals(message)).toBe(true);
  });

  test('a message of singleSendCapacity (44 full records and a short 45th) leaves in one send and arrives in one read', async () => {
    const a = await offloaded({ segment: S, gro: true });
    const b = await offloaded({ segment: S, gro: true });
    const fa = new FramedTransport(a, { segment: S, now: Date.now });
    // a reassembler that can hold nothing: only a message whose chunks all come in one read is delivered
    const fb = new FramedTransport(b, { segment: S, now: Date.now, maxBytes: 0 });
    const got: Buffer[] = [];
    fb.onReceive((m) => got.push(Buffer.from(m)));
    const cap = fa.singleSendCapacity;
    expect(cap).toBe(44 * (S - HEADER_BYTES) + 713);
    const message = Buffer.from(Array.from({ length: cap }, (_, i) => (i * 13) & 255));
    // given in parts, as the sleeve hands its datagrams over: the same bytes arrive
    fa.send(b.address, [message.subarray(0, 22), message.subarray(22, 40_000), message.subarray(40_000)]);
    await until(() => got.length === 1);
    expect(got[0].equals(message)).toBe(true);
    expect(fb.drops.total).toBe(0);
  });

  test('between two framed transports with GRO: messages of every size arrive intact, and reads hold many records', async () => {
    const a = await offloaded({ segment: S, gro: true });
    const b = await offloaded({ segment: S, gro: true });
    const reads: number[] = [];
    const counting = { address: b.address, send: b.send.bind(b), sendRaw: b.sendRaw.bind(b), close: b.close.bind(b),
      onReceive: (h: (d: Buffer, f: Addr) => void) => b.onReceive((d, f) => { reads.push(parseRecords(d).records.length); h(d, f); }) };
    const fa = new FramedTransport(a, { segment: S, now: Date.now });
    const fb = new FramedTransport(counting, { segment: S, now: Date.now });
    const got: Buffer[] = [];
    fb.onReceive((m) => got.push(m));
    const sent = [1, 1464, 1465, 30_000, 64_934, 5, 64_934].map((n, k) => Buffer.alloc(n, k + 1));
    for (const m of sent) fa.send(b.address, m);
    await until(() => got.length === sent.length);
    // Buffer.equals: jest's deep equality walks 64 KiB buffers byte by byte, for seconds
    expect(got.map((m, i) => m.equals(sent[i]))).toEqual(sent.map(() => true));
    expect(Math.max(...reads)).toBeGreaterThan(1);
    expect(fb.drops.total).toBe(0);
  });
});

describe('recycled send buffers', () => {
  const S = 1472;
  const pooled = (t: UdpTransport) => t.stats.sendBuffers!;

  /** message k: its index, then bytes no other message has at those places */
  function message(k: number, n: number): Buffer {
    const m = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) m[i] = (i * 31 + k * 97 + (i >> 8) * k) & 255;
    if (n >= 4) m.writeUInt32BE(k, 0);
    return m;
  }

  // Bursts sent back to back in one tick, as the sleeve does: every send is still on its way
  // (dgram sends after a nextTick, or later when the socket is busy) when the next message is
  // laid out. A buffer back in the pool before its send completed would be overwritten by a later
  // message, and arrive as that one.
  test.each([undefined, S])('segment %s: bursts through FramedTransport arrive intact, and the pool reuses its buffers', async (segment) => {
    const o = segment === undefined ? {} : { segment, gro: true };
    const a = await UdpTransport.open({ host: LO, port: 0, ...o });
    const b = await UdpTransport.open({ host: LO, port: 0, ...o });
    open.push(a, b);
    const fa = new FramedTransport(a, { ...o, now: Date.now });
    const fb = new FramedTransport(b, { ...o, now: Date.now });
    const got: Buffer[] = [];
    fb.onReceive((m) => got.push(m));
    const burst = 24;
    const rounds = 10;
    const sizes = [4096, 9000, 30_000, 50_000, 64_934, 65_400, 20_000, 5000];
    const sent: Buffer[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < burst; i++) {
        const m = message(sent.length, sizes[sent.length % sizes.length]);
        sent.push(m);
        fa.send(b.address, m);
      }
      // on a timeout, the checks below say what went wrong
      if (!(await until(() => got.length >= sent.length).then(() => true, () => false))) break;
    }
    // Buffer.equals: jest's deep equality walks 64 KiB buffers byte by byte, for seconds
    const byIndex = new Map(got.map((m) => [m.readUInt32BE(0), m]));
    expect(sent.filter((m, k) => !byIndex.get(k)?.equals(m)).length).toBe(0);
    expect(got.length).toBe(sent.length);
    expect(fb.drops.total).toBe(0);
    expect(a.stats.dropped).toEqual({});
    // every buffer back once its send settled
    await until(() => pooled(a).free === Math.min(pooled(a).allocated, 32));
    const p = pooled(a);
    // every message's first send is pooled (only a short GSO tail, under 4 KiB, is a one-off)
    const sends = p.allocated + p.reused;
    expect(sends).toBeGreaterThanOrEqual(sent.length);
    expect(p.doubleGives).toBe(0);
    // about a burst's worth allocated, the rest reused
    expect(p.allocated).toBeLessThanOrEqual(2 * burst);
    expect(p.reused).toBeGreaterThan(sends * 0.8);
  });

  test('a pooled buffer that is not sent (closed, bad address) goes back at once; one whose send fails, when it fails', async () => {
    const a = await transport();
    const buf = a.sendBuffer(10_000);
    a.send('not an address', buf);
    expect(pooled(a)).toMatchObject({ allocated: 1, free: 1 });
    // no SO_BROADCAST: the send is refused
    a.send('255.255.255.255:9', a.sendBuffer(10_000));
    expect(pooled(a)).toMatchObject({ allocated: 1, reused: 1, free: 0 });
    await until(() => a.stats.dropped.sendError === 1);
    expect(pooled(a)).toMatchObject({ allocated: 1, reused: 1, free: 1 });
    await a.close();
    a.send(LO + ':9', a.sendBuffer(10_000));
    expect(pooled(a)).toMatchObject({ allocated: 1, reused: 2, free: 1, doubleGives: 0 });
    expect(a.stats.dropped).toEqual({ badAddr: 1, closed: 1, sendError: 1 });
  });

  test("parts and the caller's own buffers are never taken into the pool", async () => {
    const a = await transport();
    const b = await transport();
    const atB = collect(b);
    const pooledBuf = a.sendBuffer(8000);
    a.send(b.address, [pooledBuf.subarray(0, 4000), pooledBuf.subarray(4000)]);
    a.send(b.address, Buffer.alloc(8000, 1));
    await until(() => atB.length === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(pooled(a)).toEqual({ ...UNUSED_POOL, allocated: 1 });
  });
});
