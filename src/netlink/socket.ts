/**
 * A NETLINK_ROUTE socket over node-netlink: opened lazily, one request in flight at a time
 * (node-netlink's pending-request map only survives a single outstanding seq), kernel errnos
 * turned into NetlinkError.
 */
import { endianness } from 'node:os';
import type { NetlinkSocket } from 'node-netlink';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './codec/constants';
import { NetlinkError } from './errors';

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

const NETLINK_ROUTE = 0;

export class RtnlSocket implements RtnlTransport {
  private sock: Promise<NetlinkSocket> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly timeoutMs = 10_000) {}

  /** Opens now rather than on the first request, so a missing capability shows up early. */
  async open(): Promise<void> {
    await this.socket('open netlink socket');
  }

  /**
   * Sends one request (NLM_F_REQUEST|NLM_F_ACK are added) and resolves with the reply messages,
   * the final ACK/DONE excluded. A kernel error rejects with NetlinkError naming `op`.
   */
  request(op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    const run = this.queue.then(() => this.exchange(op, type, flags | NLM_F_REQUEST | NLM_F_ACK, payload));
    this.queue = run.catch(() => undefined);
    return run;
  }

  dump(op: string, type: number, payload: Buffer): Promise<ReplyMessage[]> {
    return this.request(op, type, NLM_F_DUMP, payload);
  }

  /** Closes after the requests already queued; a later request opens a new socket. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      const sock = this.sock;
      this.sock = undefined;
      if (sock) await (await sock.catch(() => undefined))?.close();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private socket(op: string): Promise<NetlinkSocket> {
    if (!this.sock) {
      const opening = (async () => {
        // netlink structs are host-endian and the codec writes little-endian
        if (endianness() !== 'LE') throw new Error('weft netlink supports little-endian hosts only');
        const mod = await import('node-netlink');
        return mod.default.open({ family: NETLINK_ROUTE });
      })();
      this.sock = opening;
      opening.catch(() => {
        if (this.sock === opening) this.sock = undefined; // let a later call retry
      });
    }
    return this.sock.catch((e: unknown) => {
      throw wrap(op, e);
    });
  }

  private async exchange(op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    const sock = await this.socket(op);
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
}

function wrap(op: string, e: unknown): NetlinkError {
  if (e instanceof NetlinkError) return e;
  const errno = typeof e === 'object' && e !== null && typeof (e as { errno?: unknown }).errno === 'number'
    ? (e as { errno: number }).errno : 0;
  if (errno !== 0) return NetlinkError.fromErrno(errno, op);
  return new NetlinkError('EUNKNOWN', 0, op, e instanceof Error ? e.message : String(e), { cause: e });
}
