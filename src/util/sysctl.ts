/**
 * Kernel settings under /proc/sys, behind a port: the daemon writes its own namespace's, unit tests record.
 * Keys are paths below /proc/sys ("net/ipv4/conf/wfh0123/proxy_arp"), so a device name is never split on dots.
 */
import { promises as fs } from 'node:fs';

export interface Sysctl {
  set(key: string, value: string): Promise<void>;
}

export const procSysctl: Sysctl = {
  async set(key, value) {
    await fs.writeFile(`/proc/sys/${key}`, value);
  },
};

/** the unit tests' twin: what was set, last value per key */
export class RecordingSysctl implements Sysctl {
  readonly values = new Map<string, string>();

  async set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}
