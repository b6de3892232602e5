/**
 * The kernel's part of a network plan: the VXLAN device's own entries (MAC →
 * underlay address, and the all-zero MAC once per fast-path peer for
 * broadcast), its proxy-ARP neighbours, and the bridge's static entries on the
 * VXLAN and TAP ports. Reads what is there and changes only the difference, so
 * it serves as the reconcile at start and as the update on every change.
 */
import type { Logger } from 'pino';
import type { FdbInfo, Netlink } from '../netlink/types';
import { KernelSteps } from './kernelSteps';
import type { NetworkPlan, OverlayNetwork } from './plan';

const ZERO_MAC = '00:00:00:00:00:00';
const NUD_PERMANENT = 0x80;
const NUD_NOARP = 0x40;

/** a static entry weft made on a bridge port (not the port's own permanent address) */
const isStaticMaster = (f: FdbInfo) => !f.self && f.master !== undefined && (f.state & NUD_NOARP) !== 0 && (f.state & NUD_PERMANENT) === 0;

export async function applyPlan(nl: Netlink, net: OverlayNetwork, plan: NetworkPlan, log: Logger): Promise<number> {
  const steps = new KernelSteps(log, { network: net.id.slice(0, 12) }, 'could not program the data plane');
  const step = steps.step.bind(steps);

  // bridge entries on both ports: a MAC moves when its host's path changes
  const portName = { vxlan: net.vxlan, tap: net.tap };
  const have = new Map<string, 'vxlan' | 'tap'>();
  for (const port of ['vxlan', 'tap'] as const) {
    const dev = portName[port];
    if (dev === undefined) continue;
    for (const f of await nl.listFdb(dev)) if (isStaticMaster(f)) have.set(f.mac, port);
  }
  for (const [mac, port] of plan.ports) {
    const dev = portName[port];
    if (dev === undefined || have.get(mac) === port) continue;
    await step(`bridge entry ${mac} on ${dev}`, () => nl.setFdb({ dev, mac, master: true }));
  }
  for (const [mac, port] of have) {
    if (plan.ports.has(mac)) continue;
    await step(`remove bridge entry ${mac}`, () => nl.deleteFdb({ dev: portName[port]!, mac, master: true }));
  }

  if (net.vxlan === undefined) return steps.changes;
  const vx = net.vxlan;
  const self = (await nl.listFdb(vx)).filter((f) => f.self && f.dst !== undefined);
  const macs = new Map(self.filter((f) => f.mac !== ZERO_MAC).map((f) => [f.mac, f.dst!]));
  for (const [mac, dst] of plan.vxlanMacs) {
    if (macs.get(mac) !== dst) await step(`vxlan entry ${mac} → ${dst}`, () => nl.setFdb({ dev: vx, mac, dst }));
  }
  for (const [mac, dst] of macs) {
    if (!plan.vxlanMacs.has(mac)) await step(`remove vxlan entry ${mac}`, () => nl.deleteFdb({ dev: vx, mac, dst }));
  }
  const flood = new Set(self.filter((f) => f.mac === ZERO_MAC).map((f) => f.dst!));
  for (const dst of plan.flood) if (!flood.has(dst)) await step(`flood to ${dst}`, () => nl.addFdb({ dev: vx, mac: ZERO_MAC, dst }));
  const wanted = new Set(plan.flood);
  for (const dst of flood) if (!wanted.has(dst)) await step(`stop flooding to ${dst}`, () => nl.deleteFdb({ dev: vx, mac: ZERO_MAC, dst }));

  const neigh = new Map((await nl.listNeighbours(vx)).filter((n) => (n.state & NUD_PERMANENT) !== 0).map((n) => [n.ip, n.mac]));
  for (const [ip, mac] of plan.neighbours) {
    if (neigh.get(ip) !== mac) await step(`proxy ARP ${ip}`, () => nl.setNeighbour({ dev: vx, ip, mac }));
  }
  for (const ip of neigh.keys()) {
    if (!plan.neighbours.has(ip)) await step(`remove proxy ARP ${ip}`, () => nl.deleteNeighbour({ dev: vx, ip }));
  }
  return steps.changes;
}
