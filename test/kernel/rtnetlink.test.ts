/** RtNetlink specifics the shared suite does not cover: socket queueing, reopen, dumps vs `ip`. */
import { execFileSync } from 'node:child_process';
import { removeLink } from '../../src/netlink/ensure';
import { NetlinkError } from '../../src/netlink/errors';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { expectCode } from './netlinkBehaviour';

jest.setTimeout(60_000);

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe('RtNetlink', () => {
  let nl: RtNetlink;
  const made: string[] = [];
  beforeAll(async () => {
    nl = await RtNetlink.open({ timeoutMs: 5000 });
  });
  afterEach(async () => {
    for (const n of made.splice(0)) await removeLink(nl, n);
  });
  afterAll(async () => {
    await nl.close();
  });

  test('many requests in flight at once are serialized, none lost', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `kr-q${i}`);
    made.push(...names);
    await Promise.all(names.map((name) => nl.createBridge({ name })));
    const results = await Promise.all([
      ...names.map((n) => nl.getLink(n)),
      nl.listLinks(),
      ...names.map((n) => nl.setLink(n, { mtu: 1400 })),
      nl.getLink('kr-missing'),
    ]);
    expect(results.slice(0, 20).map((l) => (l as { name: string }).name)).toEqual(names);
    const links = await nl.listLinks();
    expect(links.filter((l) => l.name.startsWith('kr-q') && l.mtu === 1400)).toHaveLength(20);
  });

  test('a failing request does not break the queue behind it', async () => {
    made.push('kr-f');
    const [a, b] = await Promise.allSettled([nl.deleteLink('kr-nope'), nl.createBridge({ name: 'kr-f' })]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('fulfilled');
  });

  test('listLinks matches `ip -j link` (lo included)', async () => {
    made.push('kr-l1', 'kr-l2');
    await nl.createVeth({ name: 'kr-l1', peerName: 'kr-l2' });
    const ours = (await nl.listLinks()).map((l) => [l.index, l.name, l.mtu, l.mac]).sort();
    const theirs = (JSON.parse(ip('-j', 'link', 'show')) as { ifindex: number; ifname: string; mtu: number; address: string }[])
      .map((l) => [l.ifindex, l.ifname, l.mtu, l.address]).sort();
    expect(ours).toEqual(theirs);
    expect((await nl.getLink('lo'))?.kind).toBe('other');
  });

  test('errors carry the kernel errno and the operation', async () => {
    made.push('kr-e');
    await nl.createBridge({ name: 'kr-e' });
    const e = await expectCode(nl.createBridge({ name: 'kr-e' }), 'EEXIST');
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.message).toBe('create bridge kr-e: EEXIST (File exists)');
    const missingMaster = await expectCode(nl.setLink('kr-e', { master: 'kr-ghost' }), 'ENODEV');
    expect(missingMaster.message).toBe('set link kr-e: ENODEV (No such device: kr-ghost)');
  });

  test('close waits for queued work; the next call reopens', async () => {
    made.push('kr-c');
    const pending = nl.createBridge({ name: 'kr-c' });
    await nl.close();
    await pending;
    expect((await nl.getLink('kr-c'))?.kind).toBe('bridge');
  });

  test('an address added through netlink shows in `ip addr` and vice versa', async () => {
    made.push('kr-a');
    await nl.createBridge({ name: 'kr-a' });
    await nl.addAddress('kr-a', '10.250.0.1/24');
    ip('addr', 'add', '10.250.0.2/24', 'dev', 'kr-a');
    expect((await nl.listAddresses('kr-a')).map((a) => a.cidr).sort()).toEqual(['10.250.0.1/24', '10.250.0.2/24']);
  });
});
