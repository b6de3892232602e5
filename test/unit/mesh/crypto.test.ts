import { createCipheriv } from 'node:crypto';
import { deriveKey, KDF, LAST_COUNTER, NONCE_BYTES, Opener, SEAL_OVERHEAD, Sealer, TAG_BYTES } from '../../../src/mesh/crypto';
import { WINDOW } from '../../../src/mesh/replayWindow';

const HEADER = Buffer.from('WEFT\x01\x01\x03\x000123456789abcdef', 'latin1');
const SENDER = '0123456789abcdef';
let key: Buffer;

beforeAll(() => {
  key = deriveKey('correct horse battery staple');
});

function seal(s: Sealer, plain: Buffer | string = 'data', aad = HEADER): Buffer {
  const p = Buffer.from(plain);
  const out = Buffer.concat(s.seal(aad, p));
  expect(out.length).toBe(p.length + SEAL_OVERHEAD);
  return out;
}

describe('deriveKey', () => {
  test('pinned vector: the KDF parameters are part of the protocol', () => {
    expect(KDF).toEqual({ salt: 'weft mesh v1', N: 32768, r: 8, p: 1 });
    expect(key.toString('hex')).toBe('588724c6d8f7c58775d10b8eed30794a4e25b609f311b10e3203a5d45283de10');
  });

  test('32 bytes, deterministic, password-dependent; empty refused', () => {
    expect(deriveKey('a')).toEqual(deriveKey('a'));
    expect(deriveKey('a')).toHaveLength(32);
    expect(deriveKey('a')).not.toEqual(deriveKey('b'));
    expect(() => deriveKey('')).toThrow(TypeError);
  });

  test('keys must be 32 bytes', () => {
    expect(() => new Sealer(Buffer.alloc(16))).toThrow(/32 bytes/);
    expect(() => new Opener(Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});

describe('Sealer', () => {
  test('nonce = epoch + big-endian counter; 20,000 nonces all distinct', () => {
    const s = new Sealer(key, { epoch: 0xdeadbeef });
    const nonces = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const f = seal(s);
      expect(f.readUInt32BE(0)).toBe(0xdeadbeef);
      if (i < 3 || i === 19_999) expect(f.readBigUInt64BE(4)).toBe(BigInt(i));
      nonces.add(f.subarray(0, NONCE_BYTES).toString('hex'));
    }
    expect(nonces.size).toBe(20_000);
    expect(s.nextCounter).toBe(20_000);
  });

  test('two sealers (two boots) pick different random epochs', () => {
    const epochs = new Set(Array.from({ length: 50 }, () => new Sealer(key).epoch));
    expect(epochs.size).toBeGreaterThan(45);
  });

  test('same plaintext, different ciphertext each time', () => {
    const s = new Sealer(key);
    expect(seal(s, 'same').subarray(NONCE_BYTES)).not.toEqual(seal(s, 'same').subarray(NONCE_BYTES));
  });

  test('counters past 2^32 are written in both halves', () => {
    const s = new Sealer(key, { firstCounter: 2 ** 32 + 5 });
    expect(seal(s).readBigUInt64BE(4)).toBe(2n ** 32n + 5n);
    expect(new Opener(key).open(HEADER, SENDER, seal(new Sealer(key, { firstCounter: 2 ** 40 })))).toEqual(Buffer.from('data'));
  });

  test('refuses to go past the last counter rather than reuse a nonce', () => {
    const s = new Sealer(key, { firstCounter: LAST_COUNTER });
    expect(seal(s).readBigUInt64BE(4)).toBe(BigInt(LAST_COUNTER));
    expect(() => s.seal(HEADER, Buffer.from('x'))).toThrow(/nonce counter exhausted/);
    expect(() => s.seal(HEADER, Buffer.from('x'))).toThrow(/nonce counter exhausted/);
  });

  test('parts: nonce, the ciphertext of each part in turn, tag; the nonce part is not the one the next seal rewrites', () => {
    const s = new Sealer(key, { epoch: 9, firstCounter: 41 });
    const parts = s.seal(HEADER, [Buffer.from('hel'), Buffer.alloc(0), Buffer.from('lo')]);
    expect(parts[0]).toHaveLength(NONCE_BYTES);
    expect(parts[parts.length - 1]).toHaveLength(TAG_BYTES);
    const first = Buffer.concat(parts);
    s.seal(HEADER, Buffer.from('next'));
    expect(Buffer.concat(parts)).toEqual(first);
    expect(first.readBigUInt64BE(4)).toBe(41n);
    // the same bytes as the parts sealed as one buffer, under the same nonce
    expect(first).toEqual(seal(new Sealer(key, { epoch: 9, firstCounter: 41 }), 'hello'));
    expect(new Opener(key).open(HEADER, SENDER, first)).toEqual(Buffer.from('hello'));
  });
});

describe('Opener', () => {
  test('wrong key, tampered AAD, nonce, ciphertext or tag → authFailed', () => {
    const f = seal(new Sealer(key), 'secret');
    expect(new Opener(deriveKey('wrong')).open(HEADER, SENDER, f)).toBe('authFailed');
    const aad = Buffer.from(HEADER);
    aad[15] ^= 1;
    expect(new Opener(key).open(aad, SENDER, f)).toBe('authFailed');
    for (const i of [0, 5, NONCE_BYTES, f.length - TAG_BYTES - 1, f.length - 1]) {
      const g = Buffer.from(f);
      g[i] ^= 0x80;
      expect(new Opener(key).open(HEADER, SENDER, g)).toBe('authFailed');
    }
    expect(new Opener(key).open(HEADER, SENDER, f.subarray(0, SEAL_OVERHEAD - 1))).toBe('tooShort');
  });

  test('replay: in order, out of order within the window, duplicates, too old, new epoch', () => {
    const s = new Sealer(key, { epoch: 1 });
    const frames = Array.from({ length: WINDOW + 10 }, (_, i) => seal(s, `m${i}`));
    const o = new Opener(key);
    const open = (f: Buffer) => {
      const r = o.open(HEADER, SENDER, f);
      return typeof r === 'string' ? r : r.toString();
    };
    expect(open(frames[0])).toBe('m0');
    expect(open(frames[1])).toBe('m1');
    expect(open(frames[1])).toBe('replay');
    expect(open(frames[5])).toBe('m5');
    expect(open(frames[3])).toBe('m3'); // late but inside the window
    expect(open(frames[3])).toBe('replay');
    expect(open(frames[WINDOW + 9])).toBe(`m${WINDOW + 9}`);
    expect(open(frames[9])).toBe('replay'); // now WINDOW below the highest: too old
    expect(open(frames[10])).toBe('m10'); // oldest still inside, never seen
    // the sender restarts: a new epoch gets a new window, counters from 0 again
    const again = new Sealer(key, { epoch: 2 });
    expect(open(seal(again, 'reboot'))).toBe('reboot');
    // and the same counters from another sender are independent
    expect(o.open(HEADER, 'ffffffffffffffff', frames[0])).toEqual(Buffer.from('m0'));
    expect(o.tracked).toBe(3);
  });

  test('a forged frame moves no window and creates no state', () => {
    const s = new Sealer(key, { epoch: 9, firstCounter: 100 });
    const good = seal(s);
    const forged = seal(new Sealer(deriveKey('attacker'), { epoch: 9, firstCounter: 100_000 }));
    const o = new Opener(key);
    expect(o.open(HEADER, SENDER, forged)).toBe('authFailed');
    expect(o.tracked).toBe(0);
    expect(o.open(HEADER, SENDER, good)).toEqual(Buffer.from('data'));
  });

  test('tracked sender boots are bounded (LRU)', () => {
    const o = new Opener(key, { maxTracked: 8 });
    for (let e = 0; e < 100; e++) expect(o.open(HEADER, SENDER, seal(new Sealer(key, { epoch: e })))).toEqual(Buffer.from('data'));
    expect(o.tracked).toBe(8);
  });

  test('a counter past LAST_COUNTER: replay if authentic, authFailed if not', () => {
    const f = seal(new Sealer(key, { epoch: 3 }));
    f.writeUInt32BE(0x00200000, 4); // rewriting the nonce breaks the tag
    expect(new Opener(key).open(HEADER, SENDER, f)).toBe('authFailed');
    // an authentic frame from a sealer that went further than ours ever do (built by hand)
    const nonce = Buffer.alloc(NONCE_BYTES);
    nonce.writeBigUInt64BE(2n ** 53n, 4);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
    c.setAAD(HEADER, { plaintextLength: 4 });
    const sealed = Buffer.concat([nonce, c.update('data'), c.final(), c.getAuthTag()]);
    expect(new Opener(key).open(HEADER, SENDER, sealed)).toBe('replay');
  });
});
