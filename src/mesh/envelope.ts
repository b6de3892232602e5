/**
 * The wire envelope every mesh datagram travels in: a fixed 16-byte header
 * (magic, version, flags, type, sender) and a payload, sealed when the mesh
 * has a password. Decoding never throws: a bad frame yields a DropReason for
 * the caller to count. Layout and rules: docs/mesh-protocol.md.
 */
import { SEAL_OVERHEAD, type Opener, type Sealer } from './crypto';
import { MessageType } from './messageTypes';
import { type Bytes, isParts } from './transport/bytes';

export const MAGIC = Buffer.from('WEFT', 'latin1');
/** 2: sealed frames under a key per sender boot (crypto.ts, bootKey); 1 sealed every frame under the mesh key */
export const VERSION = 2;
export const MIN_VERSION = 2;
export const MAX_VERSION = 2;
export const HEADER_BYTES = 16;
/** largest datagram sent or accepted, header included */
export const MAX_FRAME = 65000;
export const MAX_PAYLOAD_CLEAR = MAX_FRAME - HEADER_BYTES;
export const MAX_PAYLOAD_SEALED = MAX_FRAME - HEADER_BYTES - SEAL_OVERHEAD;

export const Flag = { Encrypted: 0x01 } as const;

export const DropReason = {
  TooLarge: 'tooLarge',
  TooShort: 'tooShort',
  BadMagic: 'badMagic',
  BadVersion: 'badVersion',
  BadType: 'badType',
  /** we have a password, the frame is clear */
  Unencrypted: 'unencrypted',
  /** we have no password, the frame is sealed */
  Encrypted: 'encrypted',
  AuthFailed: 'authFailed',
  Replay: 'replay',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export type Envelope = { ok: true; type: number; sender: string; payload: Buffer } | { ok: false; reason: DropReason };

export interface EnvelopeInput {
  type: number;
  /** peer id: 16 lower-case hex characters */
  sender: string;
  /** one buffer, or parts sent back to back */
  payload: Bytes;
  /** seals the payload when present */
  sealer?: Sealer;
  /** where the sealed payload is written when it fits (see Sealer.seal); the frame is a view of it */
  sealInto?: Buffer;
}

const knownTypes = new Uint8Array(256);
for (const t of Object.values(MessageType)) knownTypes[t] = 1;

export function isKnownType(t: number): boolean {
  return Number.isInteger(t) && t >= 0 && t < 256 && knownTypes[t] === 1;
}

const PEER_ID = /^[0-9a-f]{16}$/;
const MAGIC_U32 = MAGIC.readUInt32BE(0);

/**
 * Builds one frame, as parts for a transport that gathers them: the header and then the
 * payload itself (its parts as given, never copied together), or, sealed, the sealer's
 * one buffer (nonce, ciphertext, tag). Throws only for
 * programming errors (unknown type, bad sender id). A payload too big yields a frame
 * over MAX_FRAME, which transports refuse and count: check MAX_PAYLOAD_* when building
 * big payloads.
 */
export function encodeEnvelope(e: EnvelopeInput): Uint8Array[] {
  if (!isKnownType(e.type)) throw new RangeError(`unknown message type ${e.type}`);
  if (typeof e.sender !== 'string' || !PEER_ID.test(e.sender)) throw new TypeError(`bad sender peer id ${JSON.stringify(e.sender)}`);
  const sealer = e.sealer;
  // the receiver opens under the key of the sender the header names
  if (sealer && sealer.sender !== e.sender) throw new TypeError(`the sealer is peer ${sealer.sender}'s, the frame's sender ${e.sender}`);
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  out.writeUInt32BE(MAGIC_U32, 0);
  out[4] = VERSION;
  out[5] = sealer ? Flag.Encrypted : 0;
  out[6] = e.type;
  out[7] = 0;
  out.write(e.sender, 8, 8, 'hex');
  if (sealer) return [out, sealer.seal(out, e.payload, e.sealInto)];
  return isParts(e.payload) ? [out, ...e.payload] : [out, e.payload];
}

/**
 * Parses and, with an opener, authenticates one frame. The payload is a view
 * into buf (no copy); a sealed one is decrypted in place, so buf is changed. Never throws.
 */
export function decodeEnvelope(buf: Buffer, opener?: Opener): Envelope {
  const n = buf.length;
  if (n > MAX_FRAME) return fail(DropReason.TooLarge);
  if (n < HEADER_BYTES) return fail(DropReason.TooShort);
  if (buf.readUInt32BE(0) !== MAGIC_U32) return fail(DropReason.BadMagic);
  const version = buf[4];
  if (version < MIN_VERSION || version > MAX_VERSION) return fail(DropReason.BadVersion);
  const type = buf[6];
  if (knownTypes[type] !== 1) return fail(DropReason.BadType);
  // unknown flag bits and the reserved byte are ignored: a flag that changes how to read the payload needs a new version
  const encrypted = (buf[5] & Flag.Encrypted) !== 0;
  if (encrypted && !opener) return fail(DropReason.Encrypted);
  if (!encrypted && opener) return fail(DropReason.Unencrypted);
  const sender = buf.toString('hex', 8, HEADER_BYTES);
  if (!opener) return { ok: true, type, sender, payload: buf.subarray(HEADER_BYTES) };
  const r = opener.open(buf.subarray(0, HEADER_BYTES), sender, buf.subarray(HEADER_BYTES));
  if (typeof r === 'string') return fail(r === 'tooShort' ? DropReason.TooShort : r === 'replay' ? DropReason.Replay : DropReason.AuthFailed);
  return { ok: true, type, sender, payload: r };
}

// one frozen object per reason: drops allocate nothing
const failures = Object.fromEntries(Object.values(DropReason).map((r) => [r, Object.freeze({ ok: false as const, reason: r })])) as Record<
  DropReason,
  { ok: false; reason: DropReason }
>;

function fail(reason: DropReason): Envelope {
  return failures[reason];
}
