/**
 * An independent view of network state for the shared behaviour suite. On the kernel it is
 * `ip -j` / `bridge -j` (tests only: src/ never runs commands); on the fake it reads the fake back.
 */
import { execFileSync } from 'node:child_process';
import type { Netlink } from '../../src/netlink/types';

export interface ProbeLink {
  name: string; kind: string; mtu: number; mac: string; up: boolean; master?: string;
  vxlan?: { vni: number; port: number; learning: boolean; local?: string; dev?: string };
}
export interface ProbeRoute { dst: string; gateway?: string; dev?: string }
export interface Probe {
  link(name: string): Promise<ProbeLink | undefined>;
  addresses(dev: string): Promise<string[]>;
  /** main table */
  routes(): Promise<ProbeRoute[]>;
  neighbours(dev: string): Promise<{ ip: string; mac?: string; permanent: boolean }[]>;
  fdb(dev: string): Promise<{ mac: string; dst?: string }[]>;
}

function json<T>(cmd: string, args: string[]): T | undefined {
  try {
    const out = execFileSync(cmd, ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return (out.trim() === '' ? [] : JSON.parse(out)) as T;
  } catch {
    return undefined; // e.g. "Device does not exist"
  }
}

interface IpLink {
  ifname: string; mtu: number; address?: string; flags: string[]; master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; learning?: boolean; local?: string; link?: string } };
}

export const ipProbe: Probe = {
  async link(name) {
    const l = json<IpLink[]>('ip', ['-d', 'link', 'show', 'dev', name])?.[0];
    if (!l) return undefined;
    const kind = l.linkinfo?.info_kind ?? 'other';
    const out: ProbeLink = { name: l.ifname, kind, mtu: l.mtu, mac: l.address ?? '', up: l.flags.includes('UP') };
    if (l.master) out.master = l.master;
    const d = l.linkinfo?.info_data;
    if (kind === 'vxlan' && d) {
      out.vxlan = { vni: d.id ?? -1, port: d.port ?? -1, learning: d.learning ?? false };
      if (d.local) out.vxlan.local = d.local;
      if (d.link) out.vxlan.dev = d.link;
    }
    return out;
  },
  async addresses(dev) {
    const a = json<{ addr_info: { family: string; local: string; prefixlen: number }[] }[]>('ip', ['-4', 'addr', 'show', 'dev', dev]);
    return (a ?? []).flatMap((x) => x.addr_info).filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`);
  },
  async routes() {
    const r = json<{ dst: string; gateway?: string; dev?: string }[]>('ip', ['-4', 'route', 'show', 'table', 'main']) ?? [];
    return r.map((x) => ({
      dst: x.dst === 'default' ? '0.0.0.0/0' : x.dst.includes('/') ? x.dst : `${x.dst}/32`,
      ...(x.gateway ? { gateway: x.gateway } : {}), ...(x.dev ? { dev: x.dev } : {}),
    }));
  },
  async neighbours(dev) {
    const n = json<{ dst: string; lladdr?: string; state?: string[] }[]>('ip', ['-4', 'neigh', 'show', 'dev', dev]) ?? [];
    return n.map((x) => ({ ip: x.dst, ...(x.lladdr ? { mac: x.lladdr } : {}), permanent: (x.state ?? []).includes('PERMANENT') }));
  },
  async fdb(dev) {
    const f = json<{ mac: string; dst?: string }[]>('bridge', ['fdb', 'show', 'dev', dev]) ?? [];
    return f.map((x) => ({ mac: x.mac, ...(x.dst ? { dst: x.dst } : {}) }));
  },
};

/** The same view read back through a Netlink (for the fake, which has no outside observer). */
export function netlinkProbe(nl: Netlink): Probe {
  const nameOf = async (i: number | undefined) => (await nl.listLinks()).find((l) => l.index === i)?.name;
  return {
    async link(name) {
      const l = await nl.getLink(name);
      if (!l) return undefined;
      const out: ProbeLink = { name: l.name, kind: l.kind, mtu: l.mtu, mac: l.mac, up: l.up };
      const master = await nameOf(l.masterIndex);
      if (master) out.master = master;
      if (l.vxlan) {
        const { dev, ...v } = l.vxlan;
        out.vxlan = { ...v };
        const devName = await nameOf(dev);
        if (devName) out.vxlan.dev = devName;
      }
      return out;
    },
    async addresses(dev) {
      return (await nl.listAddresses(dev).catch(() => [])).map((a) => a.cidr);
    },
    async routes() {
      const out: ProbeRoute[] = [];
      for (const r of await nl.listRoutes()) {
        const dev = await nameOf(r.ifindex);
        out.push({ dst: r.dst, ...(r.gateway ? { gateway: r.gateway } : {}), ...(dev ? { dev } : {}) });
      }
      return out;
    },
    async neighbours(dev) {
      return (await nl.listNeighbours(dev).catch(() => []))
        .map((n) => ({ ip: n.ip, ...(n.mac ? { mac: n.mac } : {}), permanent: (n.state & 0x80) !== 0 }));
    },
    async fdb(dev) {
      return (await nl.listFdb(dev).catch(() => [])).map((f) => ({ mac: f.mac, ...(f.dst ? { dst: f.dst } : {}) }));
    },
  };
}
