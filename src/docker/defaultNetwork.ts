/**
 * The default network `weft` (Weave's `weave` network is the model): created in
 * Docker when missing, so `docker run --net weft` works with nothing else typed.
 */
import { type Cidr, formatCidr } from '../addr/cidr';
import type { DockerClient } from './client';

export type DefaultNetworkState =
  | { state: 'pending' }
  | { state: 'ready'; id: string; created: boolean }
  | { state: 'mismatch'; id: string; detail: string }
  | { state: 'disabled' }
  | { state: 'error'; detail: string };

export async function ensureDefaultNetwork(docker: Pick<DockerClient, 'network' | 'createNetwork'>, name: string, driver: string, subnet: Cidr): Promise<DefaultNetworkState> {
  const existing = await docker.network(name);
  if (existing) {
    const subnets = (existing.IPAM.Config ?? []).map((c) => c.Subnet);
    if (existing.Driver !== driver || existing.IPAM.Driver !== driver || !subnets.includes(formatCidr(subnet))) {
      const detail = `Docker network ${name} exists with driver ${existing.Driver}, IPAM ${existing.IPAM.Driver}, subnet ${subnets.join(',') || '-'}; weft expects ${driver}/${driver}/${formatCidr(subnet)}`;
      return { state: 'mismatch', id: existing.Id, detail };
    }
    return { state: 'ready', id: existing.Id, created: false };
  }
  const id = await docker.createNetwork({
    Name: name,
    Driver: driver,
    IPAM: { Driver: driver, Config: [{ Subnet: formatCidr(subnet) }] },
    CheckDuplicate: true,
  });
  return { state: 'ready', id, created: true };
}
