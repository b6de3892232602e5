/** `weft status [--json]`: what the daemon knows, from its status API. */
import { DEFAULTS, hostPort } from '../../daemon/config';
import { CliError } from '../errors';
import { getStatus } from '../pluginClient';

interface StatusView {
  version: string;
  pid: number;
  socket: string;
  range: string;
  defaultSubnet: string;
  mtu: number;
  docker: { reachable: boolean; defaultNetwork: { state: string; id?: string; detail?: string } };
  networks: Array<{ id: string; bridge: string; subnet: string; gateway?: string }>;
  endpoints: Array<{ id: string; networkId: string; address: string; mac: string; sandboxKey?: string }>;
  pools: Array<{ subnet: string; range?: string; size: number; used: number; gateway?: string }>;
}

export async function status(o: { json?: boolean; statusAddr?: string }): Promise<void> {
  const addr = hostPort(o.statusAddr ?? DEFAULTS.statusAddr);
  let s: Record<string, unknown>;
  try {
    s = await getStatus(addr);
  } catch (e) {
    throw new CliError(`weft is not running (no answer from ${addr.host}:${addr.port}: ${(e as Error).message})`);
  }
  if (o.json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const v = s as unknown as StatusView;
  const short = (id: string) => id.slice(0, 12);
  const lines = [
    `weft ${v.version}, pid ${v.pid}`,
    `  plugin socket: ${v.socket}`,
    `  address range: ${v.range} (default subnet ${v.defaultSubnet}), MTU ${v.mtu}`,
    `  docker: ${v.docker.reachable ? 'reachable' : 'not reachable'}; default network: ${v.docker.defaultNetwork.state}${v.docker.defaultNetwork.detail ? ` (${v.docker.defaultNetwork.detail})` : ''}`,
    `networks: ${v.networks.length}`,
    ...v.networks.map((n) => `  ${short(n.id)}  ${n.subnet.padEnd(18)} gateway ${n.gateway ?? '-'}  bridge ${n.bridge}`),
    `endpoints: ${v.endpoints.length}`,
    ...v.endpoints.map((e) => `  ${short(e.id)}  ${e.address.padEnd(18)} ${e.mac}  network ${short(e.networkId)}${e.sandboxKey ? '  joined' : ''}`),
    `allocations:`,
    ...v.pools.map((p) => `  ${p.subnet.padEnd(18)} ${String(p.used).padStart(7)} of ${p.size} used${p.range ? `, ip-range ${p.range}` : ''}`),
  ];
  console.log(lines.join('\n'));
}
