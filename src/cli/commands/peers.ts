/** `weft connect PEER` / `weft forget PEER`: change the peers the daemon connects to, at run time. */
import { DEFAULTS, hostPort } from '../../daemon/config';
import { apiCall } from '../pluginClient';

export async function connect(peer: string, o: { statusAddr?: string }): Promise<void> {
  const r = await apiCall(hostPort(o.statusAddr ?? DEFAULTS.statusAddr), 'POST', '/peers', { addr: peer });
  console.log(`connecting to ${(r as { connected: string }).connected}`);
}

export async function forget(peer: string, o: { statusAddr?: string }): Promise<void> {
  await apiCall(hostPort(o.statusAddr ?? DEFAULTS.statusAddr), 'DELETE', `/peers/${encodeURIComponent(peer)}`);
  console.log(`forgot ${peer}`);
}

export async function rmpeer(peer: string, o: { statusAddr?: string }): Promise<void> {
  const r = (await apiCall(hostPort(o.statusAddr ?? DEFAULTS.statusAddr), 'POST', '/rmpeer', { peer })) as { nickname: string; tokens: number };
  console.log(`removed peer ${r.nickname}; its address space is now this peer's`);
}
