/**
 * The fast-path probe's payload (the inner UDP payload of ./vxlanProbe.ts):
 * who sent it, and a nonce the ack echoes so a forged probe cannot make the
 * sender believe in a path. Layout: "WFPR", version u8, sender peer id (8
 * bytes), nonce (8 bytes); 21 bytes exactly.
 */
import { isPeerId, type PeerId } from '../../mesh/peerId';

export const PROBE_MAGIC = 'WFPR';
const MAGIC_U32 = 0x57465052; // "WFPR"
export const PROBE_VERSION = 1;
export const PROBE_NONCE_BYTES = 8;
export const PROBE_BYTES = 4 + 1 + 8 + PROBE_NONCE_BYTES;

export interface Probe {
  sender: PeerId;
  nonce: Buffer;
}

/** RangeError for a sender that is not a peer id or a nonce that is not 8 bytes (caller bugs, not wire input). */
export function encodeProbe(p: Probe): Buffer {
  if (!isPeerId(p.sender)) throw new RangeError(`not a peer id: ${JSON.stringify(p.sender)}`);
  if (p.nonce.length !== PROBE_NONCE_BYTES) throw new RangeError(`nonce must be ${PROBE_NONCE_BYTES} bytes, got ${p.nonce.length}`);
  const out = Buffer.allocUnsafe(PROBE_BYTES);
  out.writeUInt32BE(MAGIC_U32, 0);
  out[4] = PROBE_VERSION;
  out.write(p.sender, 5, 'hex');
  p.nonce.copy(out, 13);
  return out;
}

/** undefined for anything but exactly one version-1 probe; the nonce is a copy (the ack may outlive the receive buffer) */
export function decodeProbe(buf: Buffer): Probe | undefined {
  if (buf.length !== PROBE_BYTES || buf.readUInt32BE(0) !== MAGIC_U32 || buf[4] !== PROBE_VERSION) return undefined;
  return { sender: buf.toString('hex', 5, 13), nonce: Buffer.from(buf.subarray(13, PROBE_BYTES)) };
}
