/**
 * Mesh encryption: a key derived from the shared password, ChaCha20-Poly1305
 * per frame, nonces that never repeat within a process, and replay refusal on
 * the receiving side. The exact wire layout is in docs/mesh-protocol.md.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { ReplayTable } from './replayWindow';
import { byteLength, type Bytes, isParts } from './transport/bytes';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** bytes a sealed payload adds: nonce before, tag after */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/**
 * Last nonce counter this implementation uses or accepts. The wire field is 64
 * bits, but counters stay exact JavaScript numbers; 2^53 frames is centuries of
 * traffic, and a sealer refuses to go past it rather than reuse a nonce.
 */
export const LAST_COUNTER = Number.MAX_SAFE_INTEGER;

/**
 * scrypt parameters. The salt is fixed and public on purpose: every peer must
 * derive the same key from the same password with no exchange first, so a
 * per-peer random salt is impossible. The cost (N=2^15) is what slows guessing.
 */
export const KDF = { salt: 'weft mesh v1', N: 2 ** 15, r: 8, p: 1 } as const;

const ALGORITHM = 'chacha20-poly1305';
const TWO_32 = 2 ** 32;

export function deriveKey(password: string): Buffer {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('the mesh password must be a non-empty string');
  // scrypt needs a little over 128*N*r bytes (32 MiB), which Node's default maxmem refuses
  return scryptSync(password.normalize('NFC'), KDF.salt, KEY_BYTES, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: 64 * 1024 * 1024 });
}

function secretKey(key: Buffer): KeyObject {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new TypeError(`a mesh key is ${KEY_BYTES} bytes`);
  return createSecretKey(key);
}

export interface SealerOptions {
  /** the 4-byte nonce prefix; random by default (the boot epoch) */
  epoch?: number;
  /** first counter to use; for tests of exhaustion */
  firstCounter?: number;
}

/**
 * Seals frames for one process. Nonce = epoch (4 random bytes, fixed for the
 * Sealer's life) + 8-byte big-endian counter; one Sealer per key per process.
 */
export class Sealer {
  readonly epoch: number;
  private readonly key: KeyObject;
  private counter: number;
  private readonly nonce = Buffer.alloc(NONCE_BYTES);

  constructor(key: Buffer, o: SealerOptions = {}) {
    this.key = secretKey(key);
    this.epoch = o.epoch ?? randomBytes(4).readUInt32BE(0);
    if (!Number.isInteger(this.epoch) || this.epoch < 0 || this.epoch >= TWO_32) throw new RangeError('epoch must be a u32');
    this.counter = o.firstCounter ?? 0;
    if (!Number.isSafeInteger(this.counter) || this.counter < 0) throw new RangeError('firstCounter must be a non-negative safe integer');
    this.nonce.writeUInt32BE(this.epoch, 0);
  }

  /** frames sealed so far (the next counter, when starting at 0) */
  get nextCounter(): number {
    return this.counter;
  }

  /**
   * nonce | ciphertext | tag for plaintext, authenticating aad too (plaintext + SEAL_OVERHEAD
   * bytes), as parts: the ciphertext as the cipher hands it out, never copied together here.
   * Why parts: the mesh's framing copies them once into its send buffer; one buffer made here
   * would be a second 64 KiB allocation and copy for every sealed sleeve datagram.
   */
  seal(aad: Uint8Array, plaintext: Bytes): Buffer[] {
    const c = this.counter;
    if (c > LAST_COUNTER) throw new RangeError('nonce counter exhausted: refusing to reuse a nonce');
    this.counter = c + 1;
    const n = this.nonce;
    n.writeUInt32BE(Math.floor(c / TWO_32), 4);
    n.writeUInt32BE(c >>> 0, 8);
    const cipher = createCipheriv(ALGORITHM, this.key, n, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad, { plaintextLength: byteLength(plaintext) });
    // the nonce as sent: its own copy, since this.nonce changes with the next seal
    const out = [Buffer.from(n)];
    // parts are encrypted as one stream: the same ciphertext as their concatenation, without making it
    for (const p of isParts(plaintext) ? plaintext : [plaintext]) out.push(cipher.update(p));
    out.push(cipher.final(), cipher.getAuthTag());
    return out;
  }
}

export type OpenFailure = 'authFailed' | 'replay' | 'tooShort';

export interface OpenerOptions {
  /** sender boots whose replay windows are kept (LRU beyond) */
  maxTracked?: number;
}

/** Verifies and decrypts frames from every peer, refusing replays. */
export class Opener {
  private readonly key: KeyObject;
  private readonly replay: ReplayTable;

  constructor(key: Buffer, o: OpenerOptions = {}) {
    this.key = secretKey(key);
    this.replay = new ReplayTable(o.maxTracked ?? 4096);
  }

  /** sender boots currently tracked */
  get tracked(): number {
    return this.replay.size;
  }

  /**
   * Opens sealed = nonce | ciphertext | tag from sender (its peer id), with aad
   * the authenticated header. Returns the plaintext or why it was refused; never throws.
   */
  open(aad: Uint8Array, sender: string, sealed: Buffer): Buffer | OpenFailure {
    if (sealed.length < SEAL_OVERHEAD) return 'tooShort';
    const epoch = sealed.readUInt32BE(0);
    const hi = sealed.readUInt32BE(4);
    // a counter past LAST_COUNTER is outside every window (but tampering still reads as authFailed)
    const beyond = hi > 0x1fffff;
    const c = hi * TWO_32 + sealed.readUInt32BE(8);
    const windowKey = sender + ':' + epoch;
    const w = this.replay.peek(windowKey);
    if (w && !beyond && !w.check(c)) return 'replay';
    const tagAt = sealed.length - TAG_BYTES;
    let plain: Buffer;
    try {
      const d = createDecipheriv(ALGORITHM, this.key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      d.setAAD(aad, { plaintextLength: tagAt - NONCE_BYTES });
      d.setAuthTag(sealed.subarray(tagAt));
      plain = d.update(sealed.subarray(NONCE_BYTES, tagAt));
      d.final(); // throws when the tag does not verify
    } catch {
      return 'authFailed';
    }
    if (beyond) return 'replay';
    this.replay.mark(windowKey, c);
    return plain;
  }
}
