/**
 * procSysctl against the real /proc/sys of a throw-away namespace (`unshare --net`): the keys weft uses on a
 * routed endpoint's host end exist under the names it writes, and read back what was written.
 */
import { removeLink } from '../../src/netlink/ensure';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { procSysctl } from '../../src/util/sysctl';

let nl: RtNetlink;
beforeAll(async () => {
  nl = await RtNetlink.open({ timeoutMs: 5000 });
});
afterAll(async () => {
  await removeLink(nl, 'ks-h');
  await nl.close();
});

test('proxy_arp and proxy_delay of a veth end: written and read back; ip_forward reads as 0 or 1', async () => {
  await removeLink(nl, 'ks-h');
  await nl.createVeth({ name: 'ks-h', peerName: 'ks-c' });
  expect(await procSysctl.get('net/ipv4/conf/ks-h/proxy_arp')).toBe('0');
  await procSysctl.set('net/ipv4/conf/ks-h/proxy_arp', '1');
  await procSysctl.set('net/ipv4/neigh/ks-h/proxy_delay', '0');
  expect(await procSysctl.get('net/ipv4/conf/ks-h/proxy_arp')).toBe('1');
  expect(await procSysctl.get('net/ipv4/neigh/ks-h/proxy_delay')).toBe('0');
  expect(['0', '1']).toContain(await procSysctl.get('net/ipv4/ip_forward'));
});

test('a device that does not exist: the error names the key', async () => {
  await expect(procSysctl.set('net/ipv4/conf/ks-none/proxy_arp', '1')).rejects.toThrow(/ks-none\/proxy_arp/);
  await expect(procSysctl.get('net/ipv4/conf/ks-none/proxy_arp')).rejects.toThrow(/ks-none\/proxy_arp/);
});
