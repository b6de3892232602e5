/**
 * A NETLINK_ROUTE socket inside another network namespace: RtnlSocket's contract over raw syscalls.
 *
 * The socket is made on the main thread while it is switched into the namespace (withNetns), and
 * stays bound to that namespace whichever thread uses it later. rtnetlink handles a request within
 * sendmsg, so an exchange is an async sendto and then async recvfroms (libuv's thread pool, so a
 * slow kernel operation does not block the event loop), each read bounded by SO_RCVTIMEO rather
 * than a JS timer: no syscall is ever left blocked on a descriptor being closed.
 */
import { endianness } from 'node:os';
import { NLMSG_DONE, NLMSG_ERROR } from './codec/constants';
import { DecodeError } from './codec/errors';
import { decodeMessages, decodeStatus, encodeMessage, NLMSG_MIN_TYPE, type Message } from './codec/message';
import { asNetlinkError, NetlinkError } from './errors';
import { withNetns } from './netns';
import { type ReplyMessage, SerialRtnl } from './socket';
import { EAGAIN, EINTR, SyscallError, syscallAsync, syscallSync } from '../util/syscall';
import type { NetnsRef } from './types';

const AF_NETLINK = 16n;
const SOCK_RAW = 3n;
const SOCK_CLOEXEC = 0o2000000n;
const NETLINK_ROUTE = 0n;
const SOL_SOCKET = 1n;
const SO_RCVTIMEO = 20n; // SO_RCVTIMEO_OLD: a struct timeval of two longs on 64-bit hosts
/** recvfrom flag: return a datagram's real length even when it did not fit */
const MSG_TRUNC = 0x20n;
const SOCKADDR_NL_LEN = 12;
const ETIMEDOUT = 110;
/** larger than any one datagram of a dump (the kernel fills at most 32 KiB per read) */
const RECV_BUFFER = 64 * 1024;

/**
 * The replies to one request, fed the messages of each datagram read. Pure: the I/O loop is in
 * NsRtnlSocket. Messages of another seq (left from an abandoned exchange) are counted and skipped.
 */
export class ReplyCollector {
  readonly replies: ReplyMessage[] = [];
  stale = 0;
  /** once done: 0, or the positive errno the kernel answered */
  errno: number | undefined;

  constructor(private readonly seq: number) {}

  get done(): boolean {
    return this.errno !== undefined;
  }

  /**
   * Takes one datagram's messages; true when the exchange is over: an NLMSG_ERROR (0 is the ACK of a
   * request) or a dump's NLMSG_DONE (whose status may be an error too). Payloads are copied.
   */
  feed(msgs: readonly Message[]): boolean {
    for (const m of msgs) {
      if (m.seq !== this.seq) {
        this.stale++;
        continue;
      }
      if (this.done) continue;
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        this.errno = Math.abs(decodeStatus(m.payload));
      } else if (m.type >= NLMSG_MIN_TYPE) {
        this.replies.push({ type: m.type, flags: m.flags, payload: Buffer.from(m.payload) });
      } // NLMSG_NOOP / NLMSG_OVERRUN: nothing to return
    }
    return this.done;
  }
}

export class NsRtnlSocket extends SerialRtnl<number> {
  private seq = 0;
  private readonly recvBuf = Buffer.alloc(RECV_BUFFER);
  private staleCount = 0;

  constructor(private readonly ns: NetnsRef, private readonly timeoutMs = 10_000) {
    super();
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1) throw new RangeError(`timeoutMs must be at least 1: ${timeoutMs}`);
  }

  /** messages of an earlier, abandoned exchange read and dropped so far */
  get staleMessages(): number {
    return this.staleCount;
  }

  protected async make(): Promise<number> {
    // netlink structs are host-endian and the codec writes little-endian
    if (endianness() !== 'LE') throw new Error('weft netlink supports little-endian hosts only');
    const where = this.ns.path;
    const fd = withNetns(this.ns, () =>
      Number(syscallSync('socket', where, [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE])));
    try {
      const ms = Math.ceil(this.timeoutMs);
      const tv = Buffer.alloc(16); // struct timeval { long tv_sec; long tv_usec }
      tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
      tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
      syscallSync('setsockopt', where, [BigInt(fd), SOL_SOCKET, SO_RCVTIMEO, tv, 16n]);
      // port id 0: the kernel assigns one
      syscallSync('bind', where, [BigInt(fd), sockaddrNl(), BigInt(SOCKADDR_NL_LEN)]);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return fd;
  }

  protected async exchange(fd: number, op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    let msg: Buffer;
    try {
      msg = encodeMessage({ type, flags, seq: this.seq }, payload);
    } catch (e) {
      throw netlinkErrorOf(op, e); // nothing was sent: the socket stays
    }
    const replies = new ReplyCollector(this.seq);
    try {
      await syscallAsync('sendto', this.ns.path, [BigInt(fd), msg, BigInt(msg.length), 0n, sockaddrNl(), BigInt(SOCKADDR_NL_LEN)]);
      while (!replies.feed(decodeMessages(await this.read(fd))));
    } catch (e) {
      // the socket may hold the rest of this exchange (or a dump the kernel would answer EBUSY to
      // a new one while unfinished): start the next request on a fresh one
      this.forget();
      closeFd(fd);
      throw netlinkErrorOf(op, e, this.timeoutMs);
    } finally {
      this.staleCount += replies.stale;
    }
    if (replies.errno !== 0) throw NetlinkError.fromErrno(replies.errno ?? 0, op);
    return replies.replies;
  }

  protected async release(fd: number): Promise<void> {
    closeFd(fd);
  }

  protected openError(op: string, e: unknown): NetlinkError {
    return netlinkErrorOf(`${op} in ${this.ns.path}`, e);
  }

  /** one datagram; a timed-out read rejects with EAGAIN (SO_RCVTIMEO) */
  private async read(fd: number): Promise<Buffer> {
    const buf = this.recvBuf;
    for (;;) {
      let n: number;
      try {
        n = Number(await syscallAsync('recvfrom', this.ns.path, [BigInt(fd), buf, BigInt(buf.length), MSG_TRUNC, 0n, 0n]));
      } catch (e) {
        if (e instanceof SyscallError && e.errno === EINTR) continue;
        throw e;
      }
      if (n > buf.length) throw new DecodeError(`a ${n}-byte datagram did not fit the ${buf.length}-byte buffer`);
      return buf.subarray(0, n);
    }
  }
}

function sockaddrNl(): Buffer {
  const sa = Buffer.alloc(SOCKADDR_NL_LEN); // nl_pid 0, nl_groups 0: the kernel
  sa.writeUInt16LE(Number(AF_NETLINK), 0);
  return sa;
}

function closeFd(fd: number): void {
  try {
    syscallSync('close', `netlink socket ${fd}`, [BigInt(fd)]);
  } catch {
    // close releases the descriptor even when it reports an error; nothing to retry
  }
}

/**
 * Any failure of an exchange as a NetlinkError: a syscall's errno keeps its code, a read that timed
 * out (SO_RCVTIMEO: EAGAIN) is ETIMEDOUT (errno 110, code EUNKNOWN), a request that cannot be
 * encoded EINVAL, a garbled reply EUNKNOWN.
 */
export function netlinkErrorOf(op: string, e: unknown, timeoutMs?: number): NetlinkError {
  if (e instanceof NetlinkError) return e;
  if (e instanceof SyscallError) {
    if (e.call === 'recvfrom' && e.errno === EAGAIN && timeoutMs !== undefined) {
      return NetlinkError.fromErrno(ETIMEDOUT, op, `no reply within ${timeoutMs} ms`);
    }
    if (e.errno !== 0) return NetlinkError.fromErrno(e.errno, op, e.message);
  }
  return asNetlinkError(op, e);
}
