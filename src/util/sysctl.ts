/**
 * Kernel settings under /proc/sys, behind a port: the daemon reads and writes its own namespace's, unit tests
 * record. Keys are paths below /proc/sys ("net/ipv4/conf/wfh0123/proxy_arp"), so a device name is never split
 * on dots.
 */
import { promises as fs } from 'node:fs';

export interface Sysctl {
  get(key: string): Promise<string>;
  set(key: string, value: string): Promise<void>;
}

export const procSysctl: Sysctl = {
  async get(key) {
    return (await fs.readFile(`/proc/sys/${key}`, 'utf8')).trim();
  },
  async set(key, value) {
    await fs.writeFile(`/proc/sys/${key}`, value);
  },
};

/** the unit tests' twin: what was set, last value per key; a key never set reads as `defaults` has it */
export class RecordingSysctl implements Sysctl {
  readonly values = new Map<string, string>();

  constructor(private readonly defaults: Record<string, string> = { 'net/ipv4/ip_forward': '1' }) {}

  async get(key: string): Promise<string> {
    const v = this.values.get(key) ?? this.defaults[key];
    if (v === undefined) throw new Error(`sysctl ${key}: no such key`);
    return v;
  }

  async set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}
