/** `weft ps`: every container on weft networks across the cluster, with its address and host. */
import { DEFAULTS, hostPort } from '../../daemon/config';
import { getStatus } from '../pluginClient';

interface Row { hostName: string; container?: string; ip: string; mac: string; subnet: string; id: string }

export async function ps(o: { statusAddr?: string; json?: boolean }): Promise<void> {
  const s = (await getStatus(hostPort(o.statusAddr ?? DEFAULTS.statusAddr))) as { cluster?: { endpoints: Row[] } };
  const rows = (s.cluster?.endpoints ?? []).sort((a, b) => a.hostName.localeCompare(b.hostName) || a.ip.localeCompare(b.ip, undefined, { numeric: true }));
  if (o.json) return console.log(JSON.stringify(rows, null, 2));
  const lines = [['HOST', 'CONTAINER', 'ADDRESS', 'MAC', 'SUBNET', 'ENDPOINT']];
  for (const r of rows) lines.push([r.hostName, r.container ?? '-', r.ip, r.mac, r.subnet, r.id.slice(0, 12)]);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  console.log(lines.map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n'));
}
