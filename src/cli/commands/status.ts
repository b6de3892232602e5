/** `weft status [--json]`: what the daemon knows, from its status API. */
import { DEFAULTS, hostPort } from '../../daemon/config';
import { getStatus } from '../pluginClient';

interface StatusView {
  version: string;
  pid: number;
  socket: string;
  range: string;
  defaultSubnet: string;
  mtu: number;
  /** where the bridges live */
  bridges: string;
  docker: { reachable: boolean; defaultNetwork: { state: string; id?: string; detail?: string } };
  networks: Array<{ id: string; bridge: string; subnet: string; gateway?: string; mode?: string }>;
  endpoints: Array<{ id: string; networkId: string; address: string; mac: string; sandboxKey?: string }>;
  pools: Array<{ subnet: string; range?: string; size: number; used: number; gateway?: string }>;
  mesh: {
    self: { id: string; nickname: string; addr: string };
    encrypted: boolean;
    peers: Array<{ id: string; nickname: string; addr: string; state: string; lastHeard?: number; rttMs?: number; mode: string; via?: string }>;
    targets: string[];
  };
  dataplane: { fastdp: boolean; fastdpOff?: string; encrypted: boolean; redirect?: { on: boolean; off?: string; devices: number; subnets?: Record<string, number> } };
  ring: { waiting: boolean; owners: Array<{ peer: string; nickname: string; addresses: number }>; conflict?: { peer: string; nickname: string } };
}

export async function status(o: { json?: boolean; statusAddr?: string }): Promise<void> {
  const addr = hostPort(o.statusAddr ?? DEFAULTS.statusAddr);
  const s = await getStatus(addr);
  if (o.json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const v = s as unknown as StatusView;
  const now = Date.now();
  const short = (id: string) => id.slice(0, 12);
  const lines = [
    `weft ${v.version}, pid ${v.pid}`,
    `  plugin socket: ${v.socket}`,
    `  address range: ${v.range} (default subnet ${v.defaultSubnet}), MTU ${v.mtu}`,
    `  bridges: in ${v.bridges}`,
    `  docker: ${v.docker.reachable ? 'reachable' : 'not reachable'}; default network: ${v.docker.defaultNetwork.state}${v.docker.defaultNetwork.detail ? ` (${v.docker.defaultNetwork.detail})` : ''}`,
    `  peer: ${v.mesh.self.id} (${v.mesh.self.nickname}) at ${v.mesh.self.addr}${v.mesh.encrypted ? ', encrypted' : ''}`,
    `  data plane: ${v.dataplane.fastdp ? 'fastdp (kernel VXLAN), sleeve where VXLAN does not get through' : `sleeve only (${v.dataplane.fastdpOff ?? 'fastdp off'})`}${v.dataplane.encrypted ? '; sleeve encrypted' : ''}`,
    `peers: ${v.mesh.peers.length}`,
    ...v.mesh.peers.map((p) => `  ${p.id}  ${p.nickname.padEnd(12)} ${p.addr.padEnd(21)} ${p.state.padEnd(8)} ${modeText(p, v.mesh.peers).padEnd(16)} ${p.rttMs !== undefined ? `rtt ${p.rttMs} ms` : ''}${p.lastHeard !== undefined ? `  heard ${((now - p.lastHeard) / 1000).toFixed(1)} s ago` : ''}`),
    `networks: ${v.networks.length}`,
    ...v.networks.map((n) => `  ${short(n.id)}  ${n.subnet.padEnd(18)} gateway ${n.gateway ?? '-'}  ${n.mode === 'routed' ? `routed, no bridge; ${redirectText(v.dataplane.redirect, n.subnet)}` : `bridge ${n.bridge}`}`),
    `endpoints: ${v.endpoints.length}`,
    ...v.endpoints.map((e) => `  ${short(e.id)}  ${e.address.padEnd(18)} ${e.mac}  network ${short(e.networkId)}${e.sandboxKey ? '  joined' : ''}`),
    `address range ${v.range} owned by:${v.ring.waiting ? ' (waiting for the ring from a peer)' : ''}`,
    ...v.ring.owners.map((o) => `  ${o.nickname.padEnd(12)} ${String(o.addresses).padStart(9)} addresses (${((o.addresses / rangeSize(v.range)) * 100).toFixed(1)}%)`),
    ...(v.ring.conflict ? [`  CONFLICT: peer ${v.ring.conflict.nickname} claimed the space independently; stop one of the two, remove its state dir and launch it again naming a peer`] : []),
    `allocations on this host:`,
    ...v.pools.map((p) => `  ${p.subnet.padEnd(18)} ${String(p.used).padStart(7)} of ${p.size} used${p.range ? `, ip-range ${p.range}` : ''}`),
  ];
  console.log(lines.join('\n'));
}

/** a routed network's forwarding: by its redirect programs (on how many devices), or by the stack and why */
export function redirectText(r: StatusView['dataplane']['redirect'], subnet: string): string {
  if (!r) return 'forwarded by the stack';
  if (!r.on) return `forwarded by the stack (eBPF redirects off: ${r.off ?? 'off'})`;
  const n = r.subnets?.[subnet] ?? 0;
  return `eBPF redirects on ${n} device${n === 1 ? '' : 's'}`;
}

function modeText(p: { mode: string; via?: string }, peers: Array<{ id: string; nickname: string }>): string {
  if (p.mode !== 'relay') return p.mode;
  return `relay via ${peers.find((q) => q.id === p.via)?.nickname ?? p.via}`;
}

function rangeSize(cidr: string): number {
  return 2 ** (32 - Number(cidr.split('/')[1]));
}
