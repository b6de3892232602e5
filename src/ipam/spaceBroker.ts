/**
 * Moving address space between peers over the mesh's RPC, for the two cases the
 * hot path cannot serve from its own space: a peer with no free space left in a
 * subnet asks the peer that owns the most of it for half of a free run; a
 * `--ip X` in another peer's space asks X's owner for X (and a small free block
 * around it). The donor decides, transfers in its ring, and answers with the
 * ring, so the requester can use the space at once.
 */
import type { Logger } from 'pino';
import type { PeerId } from '../mesh/peerId';
import { type Cidr, formatCidr, formatIp, parseCidr } from '../addr/cidr';
import { IpamError } from './errors';
import type { Ownership } from './ownership';
import { chooseDonation, type DonationWant } from './ring';

export const SPACE_OP = 'ipam.space';

export interface SpaceRpc {
  request(to: PeerId, op: string, body: unknown, timeoutMs: number): Promise<unknown>;
  on(op: string, handler: (from: PeerId, op: string, body: unknown) => unknown): void;
}

interface SpaceRequest {
  subnet: string;
  want: 'half' | { ip: number };
}

type SpaceReply =
  | { granted: [number, number]; ring: string }
  | { refused: 'inUse' | 'noSpace'; detail: string }
  | { refused: 'notOwner'; owner?: PeerId; ring: string };

export interface BrokerDeps {
  ownership: Ownership;
  rpc: SpaceRpc;
  /** peers that answer now */
  livePeers(): PeerId[];
  /** true when no local pool holds ip (nor reserves it as a gateway) */
  isFree(ip: number): boolean;
  nickname(peer: PeerId): string;
  log?: Logger;
  timeoutMs?: number;
}

export class SpaceBroker {
  private readonly inflight = new Map<string, Promise<boolean>>();

  constructor(private readonly d: BrokerDeps) {
    d.rpc.on(SPACE_OP, (from, _op, body) => this.donate(from, body));
  }

  /** makes this peer the owner of ip, or throws a clear IpamError */
  async acquireAddress(subnet: Cidr, ip: number): Promise<void> {
    const { ownership } = this.d;
    for (let hop = 0; hop < 3 && !ownership.owns(ip); hop++) {
      const owner = ownership.owner(ip);
      if (!owner) throw new IpamError('Exhausted', 'weft: this peer has not received the cluster\'s address ring yet (no peer has answered); try again shortly');
      if (!this.d.livePeers().includes(owner)) {
        throw new IpamError('Exhausted', `weft: address ${formatIp(ip)} belongs to peer ${this.d.nickname(owner)}, which does not answer; try again when it is back, or 'weft rmpeer' it if it is gone for good`);
      }
      const reply = await this.ask(owner, { subnet: formatCidr(subnet), want: { ip } });
      if ('granted' in reply) continue;
      if (reply.refused === 'inUse') throw new IpamError('InUse', `weft: address ${formatIp(ip)} is already in use on ${this.d.nickname(owner)}`);
      if (reply.refused === 'noSpace') throw new IpamError('Exhausted', `weft: ${reply.detail}`);
      // notOwner: its ring (merged in ask) says who owns it now; loop
    }
    if (!ownership.owns(ip)) throw new IpamError('Exhausted', `weft: could not get address ${formatIp(ip)} from its owner`);
  }

  /** asks for more space in subnet; false when no peer could give any. Concurrent asks for one subnet share one request. */
  acquireSpace(subnet: Cidr): Promise<boolean> {
    const key = formatCidr(subnet);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.askForSpace(subnet).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async askForSpace(subnet: Cidr): Promise<boolean> {
    const live = new Set(this.d.livePeers());
    const donors = [...this.d.ownership.ownedIn(subnet)]
      .filter(([peer]) => peer !== this.d.ownership.self && live.has(peer))
      .sort((a, b) => b[1] - a[1]);
    for (const [peer] of donors) {
      try {
        const reply = await this.ask(peer, { subnet: formatCidr(subnet), want: 'half' });
        if ('granted' in reply) return true;
      } catch (e) {
        this.d.log?.warn({ peer, err: e }, 'space request failed');
      }
    }
    return false;
  }

  private async ask(peer: PeerId, req: SpaceRequest): Promise<SpaceReply> {
    const reply = (await this.d.rpc.request(peer, SPACE_OP, req, this.d.timeoutMs ?? 3000)) as SpaceReply;
    if (reply && 'ring' in reply && typeof reply.ring === 'string') {
      try {
        this.d.ownership.mergeEncoded(Buffer.from(reply.ring, 'base64'), peer);
      } catch (e) {
        this.d.log?.warn({ peer, err: e }, 'ring in a space reply refused');
      }
    }
    return reply;
  }

  /** the donor's side: validate, choose, transfer, answer with our ring */
  private donate(from: PeerId, body: unknown): SpaceReply {
    const req = body as Partial<SpaceRequest> | null;
    let subnet: Cidr;
    try {
      subnet = parseCidr(String(req?.subnet));
    } catch {
      throw new Error('bad space request');
    }
    const want: DonationWant | undefined =
      req?.want === 'half' ? { kind: 'half' } : typeof req?.want === 'object' && Number.isInteger(req.want?.ip) ? { kind: 'address', ip: req.want.ip } : undefined;
    if (!want) throw new Error('bad space request');
    const { ownership } = this.d;
    const ring = () => ownership.encoded().toString('base64');
    if (want.kind === 'address') {
      if (!ownership.owns(want.ip)) return { refused: 'notOwner', ...(ownership.owner(want.ip) ? { owner: ownership.owner(want.ip) } : {}), ring: ring() };
      if (!this.d.isFree(want.ip)) return { refused: 'inUse', detail: `address ${formatIp(want.ip)} is in use` };
    }
    const range = chooseDonation(ownership.rangesOf(ownership.self, subnet), this.d.isFree, subnet, want);
    if (!range) return { refused: 'noSpace', detail: `no free space left in ${formatCidr(subnet)} on the peer asked` };
    ownership.transfer(from, range.start, range.end);
    this.d.log?.info({ to: from, start: formatIp(range.start), end: formatIp(range.end - 1) }, 'gave address space');
    return { granted: [range.start, range.end], ring: ring() };
  }
}
