/**
 * Request/reply between peers over datagrams (space and address requests for
 * IPAM): JSON bodies, a timeout per request, replies matched by id. A lost
 * datagram is a timeout; callers decide whether to retry.
 */
import type { Scheduler, TimerHandle } from '../util/scheduler';
import type { Link } from './link';
import { MessageType } from './messageTypes';
import type { PeerId } from './peerId';
import type { DropCounter } from './stats';

export type RequestHandler = (from: PeerId, op: string, body: unknown) => Promise<unknown> | unknown;

export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(readonly code: 'timeout' | 'remote' | 'unknownOp', message: string) {
    super(message);
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, RequestHandler>();

  constructor(private readonly link: Link, private readonly scheduler: Scheduler, private readonly drops: DropCounter) {}

  on(op: string, handler: RequestHandler): void {
    this.handlers.set(op, handler);
  }

  request(to: PeerId, op: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.scheduler.after(timeoutMs, () => {
        this.pending.delete(id);
        reject(new RpcError('timeout', `peer ${to} did not answer ${op} within ${timeoutMs} ms`));
      });
      this.pending.set(id, { resolve, reject, timer });
      this.link.send(to, MessageType.Request, Buffer.from(JSON.stringify({ id, op, body })));
    });
  }

  /** answers at once when the handler is synchronous, after it settles otherwise */
  handleRequest(from: PeerId, payload: Buffer): void {
    const msg = parse(payload) as { id?: unknown; op?: unknown; body?: unknown } | undefined;
    if (!msg || !Number.isSafeInteger(msg.id) || typeof msg.op !== 'string') return this.drops.count('rpcBadRequest');
    const id = msg.id as number;
    const reply = (r: object) => this.link.send(from, MessageType.Reply, Buffer.from(JSON.stringify({ id, ...r })));
    const fail = (e: unknown) => reply({ ok: false, code: 'remote', error: e instanceof Error ? e.message : String(e) });
    const handler = this.handlers.get(msg.op);
    if (!handler) return reply({ ok: false, code: 'unknownOp', error: `unknown request ${msg.op}` });
    let result: unknown;
    try {
      result = handler(from, msg.op, msg.body);
    } catch (e) {
      return fail(e);
    }
    if (result instanceof Promise) result.then((body: unknown) => reply({ ok: true, body: body ?? null }), fail);
    else reply({ ok: true, body: result ?? null });
  }

  handleReply(payload: Buffer): void {
    const msg = parse(payload) as { id?: unknown; ok?: unknown; body?: unknown; code?: unknown; error?: unknown } | undefined;
    if (!msg || !Number.isSafeInteger(msg.id)) return this.drops.count('rpcBadReply');
    const p = this.pending.get(msg.id as number);
    if (!p) return this.drops.count('rpcLateReply');
    this.pending.delete(msg.id as number);
    p.timer.cancel();
    if (msg.ok === true) p.resolve(msg.body);
    else p.reject(new RpcError(msg.code === 'unknownOp' ? 'unknownOp' : 'remote', String(msg.error ?? 'request failed')));
  }

  /** fails every request still waiting (on stop) */
  close(): void {
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      p.reject(new RpcError('timeout', 'mesh stopped'));
      this.pending.delete(id);
    }
  }
}

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
