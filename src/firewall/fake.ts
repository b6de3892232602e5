/** The in-memory Firewall for unit tests: the bridges allowed, with their subnets. */
import type { BridgeRules, Firewall } from './types';

export class FakeFirewall implements Firewall {
  /** bridge → subnet */
  readonly allowed = new Map<string, string>();

  async allowBridge(net: BridgeRules): Promise<void> {
    this.allowed.set(net.bridge, net.subnet);
  }

  async revokeBridge(bridge: string): Promise<void> {
    this.allowed.delete(bridge);
  }
}
