/** What the fake offers beyond the shared behaviour suite: call recording and fault injection. */
import { ensureAddress, ensureBridge } from '../../../src/netlink/ensure';
import { NetlinkError } from '../../../src/netlink/errors';
import { FakeNetlink } from '../../../src/netlink/fake';

describe('FakeNetlink', () => {
  test('starts like a fresh namespace: only lo, down', async () => {
    expect(await new FakeNetlink().listLinks()).toEqual([
      { index: 1, name: 'lo', kind: 'other', mtu: 65536, mac: '00:00:00:00:00:00', up: false },
    ]);
    expect(await new FakeNetlink({ loopback: false }).listLinks()).toEqual([]);
  });

  test('records every mutating call in order, failures with their code; reads are not recorded', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'br0', mtu: 1450 });
    await nl.createBridge({ name: 'br0' }).catch(() => undefined);
    await nl.getLink('br0');
    await nl.listLinks();
    await nl.setLink('br0', { up: true });
    await nl.addAddress('br0', '10.0.0.1/24');
    expect(nl.calls).toEqual([
      { op: 'createBridge', args: { name: 'br0', mtu: 1450 } },
      { op: 'createBridge', args: { name: 'br0' }, error: 'EEXIST' },
      { op: 'setLink', args: { name: 'br0', change: { up: true } } },
      { op: 'addAddress', args: { dev: 'br0', cidr: '10.0.0.1/24' } },
    ]);
  });

  test('recorded args are snapshots, and returned links are copies', async () => {
    const nl = new FakeNetlink();
    const spec = { name: 'br0', mtu: 1450 };
    await nl.createBridge(spec);
    spec.mtu = 9000;
    expect(nl.calls[0]?.args).toEqual({ name: 'br0', mtu: 1450 });
    const l = await nl.getLink('br0');
    if (l) l.mtu = 1;
    expect((await nl.getLink('br0'))?.mtu).toBe(1450);
  });

  test('failNext injects one failure for that method, without changing state', async () => {
    const nl = new FakeNetlink();
    nl.failNext('createVeth', 'EBUSY');
    const e = await nl.createVeth({ name: 'a', peerName: 'b' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EBUSY', errno: 16 });
    expect(await nl.getLink('a')).toBeUndefined();
    await nl.createVeth({ name: 'a', peerName: 'b' });
    expect(nl.calls.map((c) => c.error)).toEqual(['EBUSY', undefined]);
  });

  test('ensure helpers make no mutating call when nothing needs doing', async () => {
    const nl = new FakeNetlink();
    await ensureBridge(nl, { name: 'br0', mtu: 1450, mac: '02:00:00:00:00:01', up: true });
    await ensureAddress(nl, 'br0', '10.0.0.1/24');
    const before = nl.calls.length;
    expect(await ensureBridge(nl, { name: 'br0', mtu: 1450, mac: '02:00:00:00:00:01', up: true })).toBe('unchanged');
    expect(nl.calls.length).toBe(before);
    expect(nl.calls.map((c) => c.op)).toEqual(['createBridge', 'setLink', 'addAddress']);
  });

  test('vxlan MTU defaults: 1500 alone, lower device MTU - 50 with dev', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'under', mtu: 9000 });
    await nl.createVxlan({ name: 'v1', vni: 1, port: 4789, learning: false });
    await nl.createVxlan({ name: 'v2', vni: 2, port: 4789, learning: false, dev: 'under' });
    expect((await nl.getLink('v1'))?.mtu).toBe(1500);
    expect((await nl.getLink('v2'))?.mtu).toBe(8950);
  });

  test('generated MACs are unique locally administered unicast addresses', async () => {
    const nl = new FakeNetlink();
    await nl.createVeth({ name: 'a', peerName: 'b' });
    await nl.createBridge({ name: 'c' });
    const macs = (await nl.listLinks()).filter((l) => l.name !== 'lo').map((l) => l.mac);
    expect(new Set(macs).size).toBe(3);
    for (const m of macs) expect(m).toMatch(/^02:/);
  });
});
