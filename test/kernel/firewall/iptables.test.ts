/**
 * The iptables Firewall against the real iptables (inside `unshare --net`, so the
 * rules are this test's own): what allowBridge adds, that it adds it once, and that
 * revokeBridge takes every rule of one bridge out and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { IptablesFirewall, untrackedRulesOn } from '../../../src/firewall/iptables';
import { silentLogger } from '../../../src/util/log';

const iptables = (...args: string[]) => execFileSync('iptables', ['-w', '5', ...args]).toString();
/** rule lines of a chain, without the policy line */
const rules = (table: string, chain: string) => iptables('-t', table, '-S', chain).split('\n').filter((l) => l.startsWith('-A '));

const fw = new IptablesFirewall(silentLogger);
const A = { bridge: 'weft-aaaaaaaaaa', subnet: '10.40.0.0/24' };
const B = { bridge: 'weft-bbbbbbbbbb', subnet: '10.41.0.0/16' };

afterEach(async () => {
  await fw.revokeBridge(A.bridge);
  await fw.revokeBridge(B.bridge);
});

test('allowBridge: one FORWARD accept and one untracked rule, however often it is called', async () => {
  await fw.allowBridge(A);
  await fw.allowBridge(A);
  expect(rules('filter', 'FORWARD')).toEqual([`-A FORWARD -i ${A.bridge} -o ${A.bridge} -j ACCEPT`]);
  const raw = rules('raw', 'PREROUTING');
  expect(raw).toHaveLength(1);
  // the exact spelling of the target differs between iptables versions; the matches do not
  expect(raw[0]).toMatch(new RegExp(`^-A PREROUTING -d ${A.subnet.replace('.', '\\.')} -i ${A.bridge} -m addrtype ! --dst-type LOCAL -j (NOTRACK|CT --notrack)$`));
});

test('revokeBridge takes out one bridge\'s rules, leaves the others, and is idempotent', async () => {
  await fw.allowBridge(A);
  await fw.allowBridge(B);
  // a rule of someone else's on the same bridge is not weft's to remove
  iptables('-t', 'raw', '-A', 'PREROUTING', '-i', A.bridge, '-j', 'ACCEPT');
  await fw.revokeBridge(A.bridge);
  await fw.revokeBridge(A.bridge);
  expect(rules('filter', 'FORWARD').join('\n')).not.toContain(A.bridge);
  expect(rules('raw', 'PREROUTING')).toEqual([
    expect.stringContaining(`-i ${B.bridge} `),
    `-A PREROUTING -i ${A.bridge} -j ACCEPT`,
  ]);
  iptables('-t', 'raw', '-D', 'PREROUTING', '-i', A.bridge, '-j', 'ACCEPT');
  expect(untrackedRulesOn(iptables('-t', 'raw', '-S', 'PREROUTING'), B.bridge)).toHaveLength(1);
});

test('a rule added twice behind weft\'s back goes on revoke too', async () => {
  await fw.allowBridge(A);
  iptables('-t', 'raw', '-A', 'PREROUTING', '-i', A.bridge, '-d', A.subnet, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'NOTRACK');
  await fw.revokeBridge(A.bridge);
  expect(rules('raw', 'PREROUTING')).toEqual([]);
  expect(rules('filter', 'FORWARD')).toEqual([]);
});

test('a bad subnet is refused with iptables\' own reason, and leaves no rule behind it', async () => {
  await expect(fw.allowBridge({ bridge: A.bridge, subnet: '10.40.0.0/99' })).rejects.toThrow(/iptables -t raw -I PREROUTING .*10\.40\.0\.0\/99/);
  expect(rules('raw', 'PREROUTING')).toEqual([]);
});

test('allowSubnet: one FORWARD accept from the subnet to the subnet, however often, listed as weft\'s; revokeSubnet takes it and no other', async () => {
  await fw.allowSubnet('10.42.0.0/16');
  await fw.allowSubnet('10.42.0.0/16');
  await fw.allowSubnet('10.43.0.0/24');
  // someone else's rule of the same shape is not weft's
  iptables('-A', 'FORWARD', '-s', '10.49.0.0/16', '-d', '10.49.0.0/16', '-j', 'ACCEPT');
  expect(rules('filter', 'FORWARD').sort()).toEqual([
    '-A FORWARD -s 10.42.0.0/16 -d 10.42.0.0/16 -m comment --comment weft-routed -j ACCEPT',
    '-A FORWARD -s 10.43.0.0/24 -d 10.43.0.0/24 -m comment --comment weft-routed -j ACCEPT',
    '-A FORWARD -s 10.49.0.0/16 -d 10.49.0.0/16 -j ACCEPT',
  ]);
  expect((await fw.routedSubnets()).sort()).toEqual(['10.42.0.0/16', '10.43.0.0/24']);
  await fw.revokeSubnet('10.42.0.0/16');
  await fw.revokeSubnet('10.42.0.0/16');
  expect(await fw.routedSubnets()).toEqual(['10.43.0.0/24']);
  await fw.revokeSubnet('10.43.0.0/24');
  iptables('-D', 'FORWARD', '-s', '10.49.0.0/16', '-d', '10.49.0.0/16', '-j', 'ACCEPT');
  expect(rules('filter', 'FORWARD')).toEqual([]);
});

test('without iptables every call returns (revokes used to loop for ever) and changes nothing', async () => {
  const none = new IptablesFirewall(silentLogger, '/nonexistent/iptables');
  await none.allowBridge(A);
  await none.revokeBridge(A.bridge);
  await none.allowSubnet('10.42.0.0/16');
  await none.revokeSubnet('10.42.0.0/16');
  expect(await none.routedSubnets()).toEqual([]);
  expect(rules('filter', 'FORWARD')).toEqual([]);
});
