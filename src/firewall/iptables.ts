/**
 * The Firewall on iptables. rtnetlink has no say over packet filtering and the
 * nf_tables netlink API is not worth hand-writing for two rules a bridge, so this is the
 * one place weft runs a command to change the kernel: `iptables -w`, with -C
 * before -I/-D so every call is idempotent.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { BridgeRules, Firewall } from './types';

type Rule = { table: 'filter' | 'raw'; spec: string[] };

/** marks a routed subnet's rule as weft's: a subnet rule, unlike a bridge's, names nothing weft owns */
const ROUTED_COMMENT = 'weft-routed';

const forwardSubnet = (subnet: string): Rule => ({
  table: 'filter', spec: ['FORWARD', '-s', subnet, '-d', subnet, '-m', 'comment', '--comment', ROUTED_COMMENT, '-j', 'ACCEPT'],
});

/** the subnets of weft's routed-subnet rules in `iptables -S FORWARD` output */
export function routedSubnetsIn(listing: string): string[] {
  const out: string[] = [];
  for (const line of listing.split('\n')) {
    const m = /^-A FORWARD -s (\S+) -d (\S+) -m comment --comment (\S+) -j ACCEPT$/.exec(line.trim());
    if (m && m[1] === m[2] && m[3] === ROUTED_COMMENT) out.push(m[1]!);
  }
  return out;
}

const forward = (bridge: string): Rule => ({ table: 'filter', spec: ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'] });

/** in the raw table, before conntrack: arriving on the bridge for the subnet, and not for this host */
const untracked = (net: BridgeRules): Rule => ({
  table: 'raw',
  spec: ['PREROUTING', '-i', net.bridge, '-d', net.subnet, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'NOTRACK'],
});

/**
 * The untracked rules on `bridge` in `iptables -t raw -S PREROUTING` output, as specs for -D.
 * iptables prints NOTRACK as `CT --notrack` in some versions.
 */
export function untrackedRulesOn(listing: string, bridge: string): string[][] {
  const out: string[][] = [];
  for (const line of listing.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t[0] !== '-A' || t[1] !== 'PREROUTING') continue;
    const i = t.indexOf('-i');
    if (i < 0 || t[i + 1] !== bridge) continue;
    const target = t.slice(t.lastIndexOf('-j') + 1).join(' ');
    if (target === 'NOTRACK' || target === 'CT --notrack') out.push(t.slice(1));
  }
  return out;
}

export class IptablesFirewall implements Firewall {
  private missing = false;

  constructor(private readonly log: Logger, private readonly binary = 'iptables') {}

  async allowBridge(net: BridgeRules): Promise<void> {
    for (const rule of [forward(net.bridge), untracked(net)]) {
      if (!(await this.has(rule))) await this.run(rule.table, ['-I', ...rule.spec]);
    }
  }

  async revokeBridge(bridge: string): Promise<void> {
    const rule = forward(bridge);
    while (!this.missing && (await this.has(rule))) await this.run('filter', ['-D', ...rule.spec]);
    if (this.missing) return;
    const listing = await this.exec(['-t', 'raw', '-S', 'PREROUTING']);
    if (listing.code !== 0) throw new Error(`iptables -t raw -S PREROUTING: ${listing.stderr.trim() || `exit ${listing.code}`}`);
    for (const spec of untrackedRulesOn(listing.stdout, bridge)) await this.run('raw', ['-D', ...spec]);
  }

  async allowSubnet(subnet: string): Promise<void> {
    const rule = forwardSubnet(subnet);
    if (!(await this.has(rule))) await this.run(rule.table, ['-I', ...rule.spec]);
  }

  async revokeSubnet(subnet: string): Promise<void> {
    const rule = forwardSubnet(subnet);
    while (!this.missing && (await this.has(rule))) await this.run(rule.table, ['-D', ...rule.spec]);
  }

  async routedSubnets(): Promise<string[]> {
    const listing = await this.exec(['-t', 'filter', '-S', 'FORWARD']);
    if (this.missing) return [];
    if (listing.code !== 0) throw new Error(`iptables -S FORWARD: ${listing.stderr.trim() || `exit ${listing.code}`}`);
    return routedSubnetsIn(listing.stdout);
  }

  private async has(rule: Rule): Promise<boolean> {
    if (this.missing) return true; // nothing to do without iptables
    const r = await this.exec(['-t', rule.table, '-C', ...rule.spec]);
    return r.code === 0;
  }

  private async run(table: Rule['table'], args: string[]): Promise<void> {
    const r = await this.exec(['-t', table, ...args]);
    if (r.code !== 0 && !this.missing) throw new Error(`iptables -t ${table} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  private exec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(this.binary, ['-w', '5', ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (!this.missing) this.log.warn('iptables not found: bridged traffic may be dropped by a FORWARD policy of DROP');
          this.missing = true;
          return resolve({ code: 0, stdout: '', stderr: '' });
        }
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }
}
