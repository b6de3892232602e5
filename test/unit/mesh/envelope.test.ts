import { deriveKey, Opener, SEAL_OVERHEAD, Sealer } from '../../../src/mesh/crypto';
import {
  decodeEnvelope,
  DropReason,
  encodeEnvelope,
  type EnvelopeInput,
  HEADER_BYTES,
  MAX_FRAME,
  MAX_PAYLOAD_CLEAR,
  MAX_PAYLOAD_SEALED,
  type Envelope,
} from '../../../src/mesh/envelope';
import { MessageType } from '../../../src/mesh/messageTypes';
import { DropCounter } from '../../../src/mesh/stats';
import { joined } from '../../../src/mesh/transport/bytes';
import { randomBytesFrom, rng } from './helpers/random';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';
let key: Buffer;
let otherKey: Buffer;

beforeAll(() => {
  key = deriveKey('s3cret');
  otherKey = deriveKey('not the secret');
});

/** a frame as one buffer (what a transport gathers from the parts) */
const frame = (e: EnvelopeInput): Buffer => joined(encodeEnvelope(e));

const types = Object.values(MessageType);
const reasonOf = (e: Envelope) => (e.ok ? 'ok' : e.reason);

function sealedFrame(payload = Buffer.from('hello'), sealer = new Sealer(key, A), type: number = MessageType.Gossip) {
  return frame({ type, sender: A, payload, sealer });
}

describe('encodeEnvelope: parts', () => {
  test('clear: the header, then the parts themselves (no copy); the same bytes as the parts given as one buffer', () => {
    const parts = [Buffer.from('sleeve header'), Buffer.from('frame one'), Buffer.from('frame two')];
    const out = encodeEnvelope({ type: MessageType.Sleeve, sender: A, payload: parts });
    expect(out).toHaveLength(4);
    expect(out.slice(1)).toEqual(parts);
    expect(out[1]).toBe(parts[0]);
    expect(Buffer.concat(out).equals(frame({ type: MessageType.Sleeve, sender: A, payload: Buffer.concat(parts) }))).toBe(true);
    expect(encodeEnvelope({ type: MessageType.Sleeve, sender: A, payload: Buffer.from('one') })).toHaveLength(2);
  });

  test('sealed: the header, then the sealed payload in one buffer, which opens to the parts together; the same bytes as the parts given as one buffer', () => {
    const parts = [Buffer.alloc(5000, 1), Buffer.alloc(0), Buffer.alloc(50_000, 2), Buffer.from('end')];
    const first = 1000;
    const a = encodeEnvelope({ type: MessageType.Sleeve, sender: A, payload: parts, sealer: new Sealer(key, A, { epoch: 7, firstCounter: first }) });
    const b = frame({ type: MessageType.Sleeve, sender: A, payload: Buffer.concat(parts), sealer: new Sealer(key, A, { epoch: 7, firstCounter: first }) });
    expect(a).toHaveLength(2);
    expect(joined(a).equals(b)).toBe(true);
    const opened = decodeEnvelope(joined(a), new Opener(key));
    expect(opened.ok && opened.payload.equals(Buffer.concat(parts))).toBe(true);
  });

  test('sealed: as many parts as a full sleeve datagram has (hundreds of frames)', () => {
    const parts = Array.from({ length: 700 }, (_, i) => Buffer.alloc(i % 90, i));
    const f = joined(encodeEnvelope({ type: MessageType.Sleeve, sender: A, payload: parts, sealer: new Sealer(key, A) }));
    const opened = decodeEnvelope(f, new Opener(key));
    expect(opened.ok && opened.payload.equals(Buffer.concat(parts))).toBe(true);
  });

  test("sealed: a sealer of another peer is refused (the receiver opens under the header's sender's key)", () => {
    expect(() => encodeEnvelope({ type: MessageType.Sleeve, sender: A, payload: Buffer.from('x'), sealer: new Sealer(key, B) })).toThrow(/sealer is peer/);
  });

  test('parts get the same checks as one buffer', () => {
    expect(() => encodeEnvelope({ type: 250, sender: A, payload: [] })).toThrow(RangeError);
    expect(() => encodeEnvelope({ type: MessageType.Sleeve, sender: 'nope', payload: [] })).toThrow(TypeError);
  });
});

describe('round trips', () => {
  test.each(types)('type %i, clear and sealed, several sizes', (type) => {
    const sealer = new Sealer(key, B);
    const opener = new Opener(key);
    for (const size of [0, 1, 100, 1400, 9000]) {
      const payload = randomBytesFrom(rng(type * 1000 + size), size);
      const clear = frame({ type, sender: A, payload });
      expect(clear.length).toBe(HEADER_BYTES + size);
      expect(decodeEnvelope(clear)).toEqual({ ok: true, type, sender: A, payload });

      const sealed = frame({ type, sender: B, payload, sealer });
      expect(sealed.length).toBe(HEADER_BYTES + SEAL_OVERHEAD + size);
      expect(sealed[5] & 1).toBe(1);
      if (size >= 16) expect(sealed.includes(payload.subarray(0, 16))).toBe(false);
      expect(decodeEnvelope(sealed, opener)).toEqual({ ok: true, type, sender: B, payload });
    }
  });

  test('header layout is as documented', () => {
    const f = frame({ type: MessageType.Request, sender: A, payload: Buffer.from([9, 8]) });
    expect(f.toString('hex')).toBe('57454654' + '02' + '00' + '04' + '00' + A + '0908');
  });

  test('the largest payloads fit exactly in MAX_FRAME', () => {
    const clear = frame({ type: 1, sender: A, payload: Buffer.alloc(MAX_PAYLOAD_CLEAR, 7) });
    expect(clear.length).toBe(MAX_FRAME);
    expect(decodeEnvelope(clear).ok).toBe(true);
    const sealed = frame({ type: 1, sender: A, payload: Buffer.alloc(MAX_PAYLOAD_SEALED, 7), sealer: new Sealer(key, A) });
    expect(sealed.length).toBe(MAX_FRAME);
    expect(decodeEnvelope(sealed, new Opener(key)).ok).toBe(true);
  });

  test('a clear payload is a view of the datagram, not a copy', () => {
    const f = frame({ type: 1, sender: A, payload: Buffer.from('abc') });
    const e = decodeEnvelope(f);
    if (!e.ok) throw new Error('decode failed');
    expect(e.payload.buffer).toBe(f.buffer);
  });

  test('a sealed payload is decrypted where it lies: a view of the datagram too', () => {
    const f = frame({ type: 1, sender: A, payload: Buffer.from('abc'), sealer: new Sealer(key, A) });
    const e = decodeEnvelope(f, new Opener(key));
    if (!e.ok) throw new Error('decode failed');
    expect(e.payload.buffer).toBe(f.buffer);
    expect(e.payload.toString()).toBe('abc');
  });

  test('encoding refuses programming errors', () => {
    expect(() => frame({ type: 0, sender: A, payload: Buffer.alloc(0) })).toThrow(/unknown message type/);
    expect(() => frame({ type: 200, sender: A, payload: Buffer.alloc(0) })).toThrow(/unknown message type/);
    expect(() => frame({ type: 1, sender: 'ABCDEF0123456789', payload: Buffer.alloc(0) })).toThrow(/peer id/);
    expect(() => frame({ type: 1, sender: 'abc', payload: Buffer.alloc(0) })).toThrow(/peer id/);
  });
});

describe('every drop reason from a crafted frame', () => {
  const clear = () => frame({ type: MessageType.Heartbeat, sender: A, payload: Buffer.from('x') });

  test('tooLarge', () => {
    expect(reasonOf(decodeEnvelope(Buffer.alloc(MAX_FRAME + 1)))).toBe(DropReason.TooLarge);
    const big = frame({ type: 1, sender: A, payload: Buffer.alloc(MAX_PAYLOAD_CLEAR + 1) });
    expect(reasonOf(decodeEnvelope(big))).toBe('tooLarge');
  });

  test('tooShort: under a header, or sealed without room for nonce and tag', () => {
    expect(reasonOf(decodeEnvelope(Buffer.alloc(0)))).toBe('tooShort');
    expect(reasonOf(decodeEnvelope(clear().subarray(0, HEADER_BYTES - 1)))).toBe('tooShort');
    const sealed = sealedFrame();
    expect(reasonOf(decodeEnvelope(sealed.subarray(0, HEADER_BYTES + SEAL_OVERHEAD - 1), new Opener(key)))).toBe('tooShort');
  });

  test('badMagic', () => {
    const f = clear();
    f[0] = 'X'.charCodeAt(0);
    expect(reasonOf(decodeEnvelope(f))).toBe('badMagic');
  });

  test.each([0, 1, 3, 255])('badVersion %i', (v) => {
    const f = clear();
    f[4] = v;
    expect(reasonOf(decodeEnvelope(f))).toBe('badVersion');
  });

  test.each([0, 8, 255])('badType %i', (t) => {
    const f = clear();
    f[6] = t;
    expect(reasonOf(decodeEnvelope(f))).toBe('badType');
  });

  test('unencrypted and encrypted: password on one side only', () => {
    expect(reasonOf(decodeEnvelope(clear(), new Opener(key)))).toBe('unencrypted');
    expect(reasonOf(decodeEnvelope(sealedFrame()))).toBe('encrypted');
  });

  test('authFailed: wrong password', () => {
    expect(reasonOf(decodeEnvelope(sealedFrame(), new Opener(otherKey)))).toBe('authFailed');
  });

  test('authFailed: any byte flipped from the reserved byte on (header is AAD), nonce, ciphertext, tag', () => {
    const f = sealedFrame(Buffer.from('payload to protect'));
    for (let i = 7; i < f.length; i++) {
      const g = Buffer.from(f);
      g[i] ^= 0x01;
      expect([i, reasonOf(decodeEnvelope(g, new Opener(key)))]).toEqual([i, 'authFailed']);
    }
  });

  test('authFailed: a frame relabelled as another known type, or with reserved bits set', () => {
    const f = sealedFrame(Buffer.from('x'), new Sealer(key, A), MessageType.Request);
    const g = Buffer.from(f);
    g[6] = MessageType.Reply;
    expect(reasonOf(decodeEnvelope(g, new Opener(key)))).toBe('authFailed');
    const h = Buffer.from(f);
    h[5] |= 0x80;
    expect(reasonOf(decodeEnvelope(h, new Opener(key)))).toBe('authFailed');
  });

  test('replay: the same sealed frame twice', () => {
    const opener = new Opener(key);
    const f = sealedFrame();
    // each arrival is a datagram of its own (opening decrypts in place)
    expect(reasonOf(decodeEnvelope(Buffer.from(f), opener))).toBe('ok');
    expect(reasonOf(decodeEnvelope(Buffer.from(f), opener))).toBe('replay');
  });

  test('clear frames: unknown flag bits and the reserved byte are ignored', () => {
    const f = clear();
    f[5] = 0xfe;
    f[7] = 0x55;
    expect(reasonOf(decodeEnvelope(f))).toBe('ok');
  });

  test('reasons are DropCounter keys', () => {
    const drops = new DropCounter();
    for (const f of [Buffer.alloc(3), Buffer.alloc(20), clear()]) {
      const e = decodeEnvelope(f, new Opener(key));
      if (!e.ok) drops.count(e.reason);
    }
    expect(drops.snapshot()).toEqual({ badMagic: 1, tooShort: 1, unencrypted: 1 });
    expect(drops.total).toBe(3);
  });
});

describe('hostile input never throws', () => {
  test('5,000 random buffers and 5,000 bit-flipped frames, with and without an opener', () => {
    const random = rng(42);
    const opener = new Opener(key);
    const sealer = new Sealer(key, A);
    const seen = new Set<string>();
    const note = (e: Envelope) => seen.add(reasonOf(e));
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(random() * 120);
      const buf = randomBytesFrom(random, n);
      // half of them start with a valid-looking header so they get past the magic check
      if (i % 2 === 0 && n >= 8) Buffer.from([0x57, 0x45, 0x46, 0x54, 2, Math.floor(random() * 2), 1 + Math.floor(random() * 5), 0]).copy(buf);
      note(decodeEnvelope(buf));
      note(decodeEnvelope(buf, opener));
    }
    for (let i = 0; i < 5000; i++) {
      const payload = randomBytesFrom(random, Math.floor(random() * 64));
      const f = frame({ type: types[i % types.length], sender: A, payload, ...(i % 2 ? { sealer } : {}) });
      const flips = 1 + Math.floor(random() * 3);
      for (let k = 0; k < flips; k++) f[Math.floor(random() * f.length)] ^= 1 << Math.floor(random() * 8);
      const cut = random() < 0.2 ? f.subarray(0, Math.floor(random() * f.length)) : f;
      note(decodeEnvelope(cut));
      note(decodeEnvelope(cut, opener));
    }
    // the fuzz reached deep into the decoder, not just the magic check
    expect([...seen].sort()).toEqual(expect.arrayContaining(['authFailed', 'badMagic', 'badType', 'badVersion', 'encrypted', 'tooShort', 'unencrypted']));
  });
});
