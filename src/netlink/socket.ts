/**
 * A NETLINK_ROUTE socket over node-netlink: opened lazily, one request in flight at a time
 * (node-netlink's pending-request map only survives a single outstanding seq), kernel errnos
 * turned into NetlinkError. SerialRtnl is what it shares with NsRtnlSocket (./nsSocket.ts).
 */
import { endianness } from 'node:os';
import type { NetlinkSocket } from 'node-netlink';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './codec/constants';
import { asNetlinkError, NetlinkError } from './errors';

export interface ReplyMessage { type: number; flags: number; payload: Buffer }

/**
 * What RtNetlink talks through: RtnlSocket here, NsRtnlSocket (./nsSocket.ts) inside another
 * namespace. One request in flight at a time, in call order.
 */
export interface RtnlTransport {
  open(): Promise<void>;
  /**
   * Sends one request (NLM_F_REQUEST|NLM_F_ACK are added) and resolves with the reply messages,
   * the final ACK/DONE excluded. A kernel error rejects with NetlinkError naming `op`.
   */
  request(op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]>;
  dump(op: string, type: number, payload: Buffer): Promise<ReplyMessage[]>;
  /** Closes after the requests already queued; a later request opens a new socket. */
  close(): Promise<void>;
}

/**
 * What both sockets share: the socket opened lazily (a failed open is retried by the next call),
 * one exchange at a time in call order, and close after what is queued. A subclass makes, uses and
 * releases its kind of socket.
 */
export abstract class SerialRtnl<S> implements RtnlTransport {
  private sock: Promise<S> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Opens now rather than on the first request, so a missing capability (or namespace) shows up early. */
  async open(): Promise<void> {
    await this.socket('open netlink socket');
  }

  request(op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    const run = this.queue.then(async () => this.exchange(await this.socket(op), op, type, flags | NLM_F_REQUEST | NLM_F_ACK, payload));
    this.queue = run.catch(() => undefined);
    return run;
  }

  dump(op: string, type: number, payload: Buffer): Promise<ReplyMessage[]> {
    return this.request(op, type, NLM_F_DUMP, payload);
  }

  close(): Promise<void> {
    const run = this.queue.then(async () => {
      const sock = this.sock;
      this.sock = undefined;
      const s = sock && (await sock.catch(() => undefined));
      if (s !== undefined) await this.release(s);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** the socket is not to be used again (an exchange left it in an unknown state): the next request opens another */
  protected forget(): void {
    this.sock = undefined;
  }

  protected abstract make(): Promise<S>;
  /** one request (flags complete) and its replies, the final ACK/DONE excluded */
  protected abstract exchange(sock: S, op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]>;
  protected abstract release(sock: S): Promise<void>;
  /** a failure to open, as the NetlinkError the request that needed the socket rejects with */
  protected abstract openError(op: string, e: unknown): NetlinkError;

  private socket(op: string): Promise<S> {
    if (!this.sock) {
      const opening = this.make();
      this.sock = opening;
      opening.catch(() => {
        if (this.sock === opening) this.sock = undefined; // let a later call retry
      });
    }
    return this.sock.catch((e: unknown) => {
      throw this.openError(op, e);
    });
  }
}

const NETLINK_ROUTE = 0;

export class RtnlSocket extends SerialRtnl<NetlinkSocket> {
  constructor(private readonly timeoutMs = 10_000) {
    super();
  }

  protected async make(): Promise<NetlinkSocket> {
    // netlink structs are host-endian and the codec writes little-endian
    if (endianness() !== 'LE') throw new Error('weft netlink supports little-endian hosts only');
    const mod = await import('node-netlink');
    return mod.default.open({ family: NETLINK_ROUTE });
  }

  protected async exchange(sock: NetlinkSocket, op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    let reply: Awaited<ReturnType<NetlinkSocket['tryTalk']>>;
    try {
      // tryTalk, not talk: talk drops .errno for errnos node-netlink does not know (EBUSY, ERANGE…)
      reply = await sock.tryTalk(
        { header: { nlmsg_type: BigInt(type), nlmsg_flags: BigInt(flags) }, payload },
        { timeout: this.timeoutMs },
      );
    } catch (e) {
      throw wrap(op, e);
    }
    if (reply.errorCode !== 0) throw NetlinkError.fromErrno(reply.errorCode, op);
    return reply.packets.map((p) => ({
      type: Number(p.header.nlmsg_type),
      flags: Number(p.header.nlmsg_flags),
      payload: p.payload,
    }));
  }

  protected async release(sock: NetlinkSocket): Promise<void> {
    await sock.close();
  }

  protected openError(op: string, e: unknown): NetlinkError {
    return wrap(op, e);
  }
}

/** node-netlink's failures: an errno it carries, else as any other (asNetlinkError) */
function wrap(op: string, e: unknown): NetlinkError {
  if (e instanceof NetlinkError) return e;
  const errno = typeof e === 'object' && e !== null && typeof (e as { errno?: unknown }).errno === 'number'
    ? (e as { errno: number }).errno : 0;
  if (errno !== 0) return NetlinkError.fromErrno(errno, op);
  return asNetlinkError(op, e);
}
