/** The in-memory Firewall for unit tests: the bridges allowed, with their subnets, and the routed subnets. */
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

  /** routed networks' subnets let through */
  readonly subnets = new Set<string>();

  async allowSubnet(subnet: string): Promise<void> {
    this.subnets.add(subnet);
  }

  async revokeSubnet(subnet: string): Promise<void> {
    this.subnets.delete(subnet);
  }

  async routedSubnets(): Promise<string[]> {
    return [...this.subnets];
  }
}
