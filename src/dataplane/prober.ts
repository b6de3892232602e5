/**
 * Finds out, per peer, whether the kernel VXLAN path gets through: weft sends a
 * VXLAN datagram from the mesh's socket to the peer's VXLAN port; the peer's
 * kernel decapsulates it on the probe device and hands the inner UDP payload to
 * the peer's weft, which acks over the (authenticated) mesh. A nonce ties the
 * ack to our probe, so a forged probe cannot make us believe in a path.
 */
import { randomBytes } from 'node:crypto';
import type { PeerId } from '../mesh/peerId';
import type { DropCounter } from '../mesh/stats';
import type { Clock } from '../util/clock';
import { decodeProbe, encodeProbe } from './frames/probe';
import {
  buildUdpFrame, buildVxlanDatagram, PROBE_DEVICE_MAC, PROBE_LOCAL_IP, PROBE_PORT, PROBE_REMOTE_IP, PROBE_SOURCE_MAC, PROBE_VNI,
} from './frames/vxlanProbe';

export interface ProberOptions {
  self: PeerId;
  clock: Clock;
  /** the peer's VXLAN UDP port */
  vxlanPort: number;
  /** a datagram from the mesh socket (so the outer source is our underlay address) */
  sendRaw(addr: string, data: Buffer): void;
  /** the ack, over the mesh */
  sendAck(peer: PeerId, nonce: Buffer): void;
  /** how long a path counts as working after the last ack */
  freshMs: number;
  drops: DropCounter;
  random?: (n: number) => Buffer;
}

/** outstanding nonces per peer: acks may arrive after the next probe went out */
const KEEP = 4;

export class FastdpProber {
  private readonly outstanding = new Map<PeerId, Buffer[]>();
  private readonly lastAck = new Map<PeerId, number>();

  constructor(private readonly o: ProberOptions) {}

  probe(peer: PeerId, underlayIp: string): void {
    const nonce = (this.o.random ?? randomBytes)(8);
    const list = this.outstanding.get(peer) ?? [];
    list.push(nonce);
    if (list.length > KEEP) list.shift();
    this.outstanding.set(peer, list);
    const inner = buildUdpFrame({
      srcMac: PROBE_SOURCE_MAC, dstMac: PROBE_DEVICE_MAC, srcIp: PROBE_REMOTE_IP, dstIp: PROBE_LOCAL_IP,
      srcPort: PROBE_PORT, dstPort: PROBE_PORT, payload: encodeProbe({ sender: this.o.self, nonce }),
    });
    this.o.sendRaw(`${underlayIp}:${this.o.vxlanPort}`, buildVxlanDatagram(PROBE_VNI, inner));
  }

  /** a probe's payload, arrived through our kernel's VXLAN decapsulation */
  received(payload: Buffer): void {
    const p = decodeProbe(payload);
    if (!p) return this.o.drops.count('badProbe');
    if (p.sender === this.o.self) return this.o.drops.count('probeFromSelf');
    this.o.sendAck(p.sender, p.nonce);
  }

  /** an ack over the mesh from `peer` */
  acked(peer: PeerId, nonce: Buffer): void {
    const list = this.outstanding.get(peer);
    const i = list?.findIndex((n) => n.equals(nonce)) ?? -1;
    if (i < 0) return this.o.drops.count('staleProbeAck');
    list!.splice(0, i + 1);
    this.lastAck.set(peer, this.o.clock.now());
  }

  works(peer: PeerId): boolean {
    const t = this.lastAck.get(peer);
    return t !== undefined && this.o.clock.now() - t < this.o.freshMs;
  }

  forget(peer: PeerId): void {
    this.outstanding.delete(peer);
    this.lastAck.delete(peer);
  }
}
