/**
 * weft's side of the conversation with the Docker engine, all of it off the
 * plugin-call path: wait for the engine, adopt its weft networks weft has no
 * record of, reconcile with Docker (at once and every `intervalMs`), and make
 * the default network when it is missing.
 */
import type { Logger } from 'pino';
import type { Cidr } from '../addr/cidr';
import type { Reconciler } from '../network/reconciler';
import type { DockerClient } from './client';
import { type DefaultNetworkState, ensureDefaultNetwork } from './defaultNetwork';

export interface DockerSyncOptions {
  /** the default network's name */
  name: string;
  /** the driver and IPAM driver name Docker knows weft by */
  driver: string;
  defaultSubnet: Cidr;
  createDefaultNetwork: boolean;
  intervalMs: number;
  retryMs: number;
}

/** the engine calls the sync makes (DockerClient; an in-memory engine in tests) */
export type SyncDocker = Pick<DockerClient, 'ping' | 'network' | 'networks' | 'createNetwork'>;

export class DockerSync {
  defaultNetwork: DefaultNetworkState;
  reachable = false;
  /** false until the first ping has answered or failed */
  checked = false;
  lastReconcile?: number;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private adopted = false;

  constructor(
    private readonly docker: SyncDocker,
    private readonly reconciler: Reconciler,
    private readonly log: Logger,
    private readonly o: DockerSyncOptions,
  ) {
    this.defaultNetwork = o.createDefaultNetwork ? { state: 'pending' } : { state: 'disabled' };
  }

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    const wasReachable = this.reachable;
    this.reachable = await this.docker.ping();
    this.checked = true;
    if (this.reachable && !wasReachable) this.log.info('Docker engine answers');
    if (this.reachable) {
      try {
        if (!this.adopted) {
          await this.reconciler.adopt((id) => this.docker.network(id), () => this.docker.networks());
          this.adopted = true;
        }
        // Docker's view before the default network: a network Docker lost while weft was down would
        // otherwise hold its subnet against the default network's creation, which would fail every time
        await this.reconciler.docker((id) => this.docker.network(id), () => this.docker.networks());
        await this.reconciler.firewall();
        this.lastReconcile = Date.now();
        if (this.defaultNetwork.state !== 'ready' && this.defaultNetwork.state !== 'disabled') {
          this.defaultNetwork = await ensureDefaultNetwork(this.docker, this.o.name, this.o.driver, this.o.defaultSubnet);
          if (this.defaultNetwork.state === 'mismatch') this.log.warn(this.defaultNetwork.detail);
          else if (this.defaultNetwork.state === 'ready') this.log.info({ network: this.o.name, created: this.defaultNetwork.created }, 'default network ready');
        }
      } catch (e) {
        this.log.warn({ err: e }, 'Docker sync failed; will retry');
        if (this.defaultNetwork.state === 'pending') this.defaultNetwork = { state: 'error', detail: (e as Error).message };
      }
    }
    if (this.stopped) return;
    const delay = this.reachable && this.defaultNetwork.state !== 'error' ? this.o.intervalMs : this.o.retryMs;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }
}
