/**
 * Netlink message framing (struct nlmsghdr): u32 nlmsg_len (header + payload, unpadded), u16 type,
 * u16 flags, u32 seq, u32 pid, then the payload. Several messages share one datagram, each starting
 * NLMSG_ALIGNed (4 bytes). Host byte order (little-endian hosts only). No I/O.
 */
import { NLMSGHDR_LEN } from './constants';
import { align4 } from './attributes';
import { DecodeError, EncodeError } from './errors';

export interface MessageHeader { type: number; flags: number; seq: number; pid: number }
export interface Message extends MessageHeader { payload: Buffer }

// linux/netlink.h control messages besides NLMSG_ERROR/NLMSG_DONE (in ./constants)
export const NLMSG_NOOP = 1;
export const NLMSG_OVERRUN = 4;
/** types below this are netlink's own control messages, not the protocol's */
export const NLMSG_MIN_TYPE = 0x10;

function check(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new EncodeError(`nlmsghdr ${what} out of range: ${n}`);
}

/** One message, zero-padded to NLMSG_ALIGN so that messages can be concatenated. */
export function encodeMessage(h: { type: number; flags: number; seq: number; pid?: number }, payload: Uint8Array): Buffer {
  const pid = h.pid ?? 0;
  check(h.type, 0xffff, 'type');
  check(h.flags, 0xffff, 'flags');
  check(h.seq, 0xffffffff, 'seq');
  check(pid, 0xffffffff, 'pid');
  const len = NLMSGHDR_LEN + payload.length;
  check(len, 0xffffffff, 'length');
  const out = Buffer.alloc(align4(len));
  out.writeUInt32LE(len, 0);
  out.writeUInt16LE(h.type, 4);
  out.writeUInt16LE(h.flags, 6);
  out.writeUInt32LE(h.seq, 8);
  out.writeUInt32LE(pid, 12);
  out.set(payload, NLMSGHDR_LEN);
  return out;
}

/**
 * Every message in a datagram. Payloads are views into `buf` (copy them before reusing it). Like the
 * kernel's nlmsg_next, the last message's padding may be missing.
 */
export function decodeMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < NLMSGHDR_LEN) throw new DecodeError(`truncated nlmsghdr (${remaining} bytes left)`, pos);
    const len = buf.readUInt32LE(pos);
    if (len < NLMSGHDR_LEN) throw new DecodeError(`nlmsghdr has impossible length ${len}`, pos);
    if (len > remaining) throw new DecodeError(`message length ${len} overruns the buffer (${remaining} left)`, pos);
    out.push({
      type: buf.readUInt16LE(pos + 4),
      flags: buf.readUInt16LE(pos + 6),
      seq: buf.readUInt32LE(pos + 8),
      pid: buf.readUInt32LE(pos + 12),
      payload: buf.subarray(pos + NLMSGHDR_LEN, pos + len),
    });
    pos += Math.min(align4(len), remaining);
  }
  return out;
}

/**
 * The s32 at the start of an NLMSG_ERROR payload (struct nlmsgerr, then the echoed request) and of a
 * dump's NLMSG_DONE: 0 for success (an ACK), else a negative errno.
 */
export function decodeStatus(payload: Buffer): number {
  if (payload.length < 4) throw new DecodeError(`truncated netlink status: need 4 bytes, got ${payload.length}`);
  return payload.readInt32LE(0);
}
