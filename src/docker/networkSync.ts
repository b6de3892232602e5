/**
 * Keeps this host's Docker networks in line with the cluster's (see
 * network/clusterNetworks.ts): publishes what Docker has here, creates what
 * other hosts created, removes what was removed elsewhere once empty here.
 * Runs on a timer and soon after any network change, never inside a plugin call.
 */
import type { Logger } from 'pino';
import type { SegmentChannel } from '../mesh/gossip/segments';
import { clusterView, type HostNetworks, keyOf, type LocalNetwork, localSegment, plan, removedKeys } from '../network/clusterNetworks';
import type { Scheduler, TimerHandle } from '../util/scheduler';
import { type DockerClient, type DockerNetwork, MODE_OPTION, MTU_OPTION } from './client';


export class NetworkSync {
  private timer?: TimerHandle;
  private soon?: TimerHandle;
  private running = false;
  lastError?: string;
  /** endpoint id → container name, from the last pass (the plugin API never tells names) */
  readonly containerNames = new Map<string, string>();
  /** network key → time of the cluster definition this host copied, until its segment records it */
  private readonly copied = new Map<string, number>();
  /** called after each pass */
  onPass?: () => void;

  constructor(
    private readonly docker: DockerClient,
    private readonly channel: SegmentChannel<HostNetworks>,
    private readonly self: string,
    private readonly driver: string,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    this.timer = this.scheduler.every(this.intervalMs, () => void this.tick());
    this.channel.watch((writers) => {
      if (writers.some((w) => w !== this.self)) this.kick();
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.soon?.cancel();
  }

  /** a pass shortly (Docker records a network only after the plugin call returns) */
  kick(delayMs = 300): void {
    this.soon?.cancel();
    this.soon = this.scheduler.after(delayMs, () => void this.tick());
  }

  async tick(): Promise<void> {
    if (this.running) return this.kick(500);
    this.running = true;
    try {
      const local = await this.localNetworks();
      const segments = () => this.channel.all().map((s) => s.data);
      const before = clusterView(segments());
      const mine = localSegment(local, this.channel.get(this.self)?.data, before, this.scheduler.now());
      if (JSON.stringify(mine) !== JSON.stringify(this.channel.get(this.self)?.data)) this.channel.publish(mine);
      for (const n of mine.networks) this.copied.delete(keyOf(n));
      const view = clusterView(segments());
      const todo = plan(local, view, removedKeys(segments()));
      for (const def of todo.create) {
        this.log.info({ network: def.name, subnet: def.subnet }, 'creating network from the cluster');
        this.copied.set(keyOf(def), def.at);
        await this.docker.createNetwork({
          Name: def.name,
          Driver: this.driver,
          IPAM: { Driver: def.ipamDriver, Config: [{ Subnet: def.subnet, ...(def.ipRange ? { IPRange: def.ipRange } : {}), ...(def.gateway ? { Gateway: def.gateway } : {}) }] },
          CheckDuplicate: true,
          ...(def.internal ? { Internal: true } : {}),
          ...(def.mtu || def.mode ? { Options: { ...(def.mtu ? { [MTU_OPTION]: def.mtu } : {}), ...(def.mode ? { [MODE_OPTION]: def.mode } : {}) } } : {}),
        }).catch((e: unknown) => this.log.warn({ err: e, network: def.name }, 'could not create network from the cluster'));
      }
      for (const name of todo.remove) {
        this.log.info({ network: name }, 'removing network removed elsewhere in the cluster');
        await this.docker.removeNetwork(name).catch((e: unknown) => this.log.warn({ err: e, network: name }, 'could not remove network'));
      }
      if (todo.create.length || todo.remove.length) this.kick(1000);
      this.lastError = undefined;
      this.onPass?.();
    } catch (e) {
      this.lastError = (e as Error).message;
    } finally {
      this.running = false;
    }
  }

  private async localNetworks(): Promise<LocalNetwork[]> {
    const out: LocalNetwork[] = [];
    for (const n of await this.docker.networks()) {
      if (n.Driver !== this.driver) continue;
      const full: DockerNetwork = (await this.docker.network(n.Id)) ?? n;
      const cfg = (full.IPAM.Config ?? [])[0];
      if (!cfg?.Subnet) continue;
      const mtu = full.Options?.[MTU_OPTION];
      const mode = full.Options?.[MODE_OPTION];
      for (const c of Object.values(full.Containers ?? {})) this.containerNames.set(c.EndpointID, c.Name);
      const copiedAt = this.copied.get(keyOf({ name: full.Name, subnet: cfg.Subnet }));
      out.push({
        name: full.Name,
        containers: Object.keys(full.Containers ?? {}).length,
        ...(copiedAt !== undefined ? { copiedAt } : {}),
        def: {
          name: full.Name,
          subnet: cfg.Subnet,
          ...(cfg.IPRange ? { ipRange: cfg.IPRange } : {}),
          ...(cfg.Gateway ? { gateway: cfg.Gateway } : {}),
          ipamDriver: full.IPAM.Driver,
          internal: full.Internal === true,
          ...(mtu ? { mtu } : {}),
          ...(mode ? { mode } : {}),
        },
      });
    }
    return out;
  }
}

