/**
 * The Firewall on iptables. rtnetlink has no say over packet filtering and the
 * nf_tables netlink API is not worth hand-writing for two rules, so this is the
 * one place weft runs a command to change the kernel: `iptables -w`, with -C
 * before -I/-D so every call is idempotent.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { Firewall } from './types';

export class IptablesFirewall implements Firewall {
  private missing = false;

  constructor(private readonly log: Logger, private readonly binary = 'iptables') {}

  async allowBridge(bridge: string): Promise<void> {
    const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    if (await this.has(rule)) return;
    await this.run(['-I', ...rule]);
  }

  async revokeBridge(bridge: string): Promise<void> {
    const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    while (await this.has(rule)) await this.run(['-D', ...rule]);
  }

  private async has(rule: string[]): Promise<boolean> {
    if (this.missing) return true; // nothing to do without iptables
    const r = await this.exec(['-C', ...rule]);
    return r.code === 0;
  }

  private async run(args: string[]): Promise<void> {
    const r = await this.exec(args);
    if (r.code !== 0 && !this.missing) throw new Error(`iptables ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  private exec(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      execFile(this.binary, ['-w', '5', ...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (!this.missing) this.log.warn('iptables not found: bridged traffic may be dropped by a FORWARD policy of DROP');
          this.missing = true;
          return resolve({ code: 0, stderr: '' });
        }
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stderr: String(stderr) });
      });
    });
  }
}
