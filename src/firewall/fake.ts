/** The in-memory Firewall for unit tests: the set of bridges allowed. */
import type { Firewall } from './types';

export class FakeFirewall implements Firewall {
  readonly allowed = new Set<string>();

  async allowBridge(bridge: string): Promise<void> {
    this.allowed.add(bridge);
  }

  async revokeBridge(bridge: string): Promise<void> {
    this.allowed.delete(bridge);
  }
}
