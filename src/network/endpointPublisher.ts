/**
 * Publishes this host's endpoints to the cluster: its segment of the endpoint
 * table, and a departure for each endpoint that left (so a container back with
 * the same --mac-address gets its old address). Also answers that question for
 * IPAM. The daemon and the plugin benchmark both wire it; one place for both.
 */
import { type Cidr, formatCidr, parseIp } from '../addr/cidr';
import type { SegmentChannel } from '../mesh/gossip/segments';
import type { PeerId } from '../mesh/peerId';
import type { Scheduler, TimerHandle } from '../util/scheduler';
import { type Departure, departures, remember, rememberedAddress } from './departures';
import { type EndpointEntry, flatten } from './endpointTable';

/** a short wait gathers a burst of plugin calls into one publication */
export const PUBLISH_DELAY_MS = 10;

export class EndpointPublisher {
  private soon?: TimerHandle;

  constructor(
    private readonly self: PeerId,
    private readonly table: SegmentChannel<EndpointEntry[]>,
    private readonly departed: SegmentChannel<Departure[]>,
    /** this host's entries as they are now */
    private readonly local: () => EndpointEntry[],
    private readonly scheduler: Scheduler,
    private readonly delayMs = PUBLISH_DELAY_MS,
  ) {}

  /** publishes shortly, if anything changed by then */
  schedule(): void {
    this.soon?.cancel();
    this.soon = this.scheduler.after(this.delayMs, () => this.publishNow());
  }

  cancel(): void {
    this.soon?.cancel();
  }

  publishNow(): void {
    const mine = this.local();
    const before = this.table.get(this.self)?.data ?? [];
    if (JSON.stringify(mine) === JSON.stringify(before)) return;
    const gone = departures(before, mine, this.scheduler.now());
    if (gone.length) this.departed.publish(remember(this.departed.get(this.self)?.data ?? [], gone));
    this.table.publish(mine);
  }

  /** for IPAM: the address `mac` last had in `subnet` anywhere in the cluster, unless a live endpoint holds it now */
  readonly remembered = (mac: string, subnet: Cidr): number | undefined => {
    const ip = rememberedAddress(this.departed.all().map((s) => s.data), flatten(this.table.all()), mac, formatCidr(subnet));
    return ip === undefined ? undefined : parseIp(ip);
  };
}
