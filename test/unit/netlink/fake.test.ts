/** What the fake offers beyond the shared behaviour suite: call recording and fault injection. */
import { ensureAddress, ensureBridge } from '../../../src/netlink/ensure';
import { NetlinkError } from '../../../src/netlink/errors';
import { FakeNetlink } from '../../../src/netlink/fake';

describe('FakeNetlink', () => {
  test('starts like a fresh namespace: only lo, down', async () => {
    expect(await new FakeNetlink().listLinks()).toEqual([
      { index: 1, name: 'lo', kind: 'other', mtu: 65536, mac: '00:00:00:00:00:00', up: false, gsoMaxSize: 65536 },
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

  test('gsoMaxSize is recorded with the rest of a setLink and applied; every link starts at 65536', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'br0' });
    await nl.createVeth({ name: 'a', peerName: 'b' });
    expect((await nl.getLink('a'))?.gsoMaxSize).toBe(65536);
    await nl.setLink('a', { master: 'br0', mtu: 1450, up: true, gsoMaxSize: 65525 });
    await nl.setLink('br0', { gsoMaxSize: 65537 }).catch(() => undefined);
    expect(nl.calls.slice(2)).toEqual([
      { op: 'setLink', args: { name: 'a', change: { master: 'br0', mtu: 1450, up: true, gsoMaxSize: 65525 } } },
      { op: 'setLink', args: { name: 'br0', change: { gsoMaxSize: 65537 } }, error: 'EINVAL' },
    ]);
    expect(await nl.getLink('a')).toMatchObject({ gsoMaxSize: 65525, mtu: 1450, up: true });
    expect((await nl.getLink('br0'))?.gsoMaxSize).toBe(65536);
    // a veth may go beyond 64 KiB (BIG TCP), a refused value changes nothing else in the request
    await nl.setLink('a', { gsoMaxSize: 200_000 });
    expect((await nl.getLink('a'))?.gsoMaxSize).toBe(200_000);
    await expect(nl.setLink('a', { mtu: 1400, gsoMaxSize: 0 })).rejects.toMatchObject({ code: 'ERANGE' });
    expect(await nl.getLink('a')).toMatchObject({ gsoMaxSize: 200_000, mtu: 1450 });
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

  test('bridge ports and FDB calls are recorded with their args; failed ones with the code', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'br0' });
    await nl.createVxlan({ name: 'vx0', vni: 1, port: 4789, learning: false, proxy: true });
    await nl.setBridgePort('vx0', { learning: false }).catch(() => undefined);
    await nl.setLink('vx0', { master: 'br0' });
    await nl.setBridgePort('vx0', { learning: false, isolated: true });
    await nl.setFdb({ dev: 'vx0', mac: '02:00:00:00:00:01', master: true });
    await nl.setFdb({ dev: 'vx0', mac: '02:00:00:00:00:01', dst: '192.0.2.1' });
    await nl.setFdb({ dev: 'vx0', mac: '02:00:00:00:00:01' }).catch(() => undefined);
    await nl.listFdb('vx0');
    expect(nl.calls.slice(2)).toEqual([
      { op: 'setBridgePort', args: { name: 'vx0', flags: { learning: false } }, error: 'EOPNOTSUPP' },
      { op: 'setLink', args: { name: 'vx0', change: { master: 'br0' } } },
      { op: 'setBridgePort', args: { name: 'vx0', flags: { learning: false, isolated: true } } },
      { op: 'setFdb', args: { dev: 'vx0', mac: '02:00:00:00:00:01', master: true } },
      { op: 'setFdb', args: { dev: 'vx0', mac: '02:00:00:00:00:01', dst: '192.0.2.1' } },
      { op: 'setFdb', args: { dev: 'vx0', mac: '02:00:00:00:00:01' }, error: 'EINVAL' },
    ]);
    nl.failNext('setFdb', 'EBUSY');
    await expect(nl.setFdb({ dev: 'vx0', mac: '02:00:00:00:00:02', master: true })).rejects.toMatchObject({ code: 'EBUSY' });
    expect((await nl.listFdb('vx0')).map((f) => f.mac)).not.toContain('02:00:00:00:00:02');
  });

  test('the device\'s own FDB entries only on vxlan devices (stricter than the kernel)', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'br0' });
    await expect(nl.setFdb({ dev: 'br0', mac: '02:00:00:00:00:01', dst: '192.0.2.1' })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(nl.addFdb({ dev: 'br0', mac: '00:00:00:00:00:00', dst: '192.0.2.1' })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
  });

  test('routes are recorded with their args, failed ones with the code', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'd0' });
    await nl.setLink('d0', { up: true });
    await nl.addAddress('d0', '10.77.0.1/24');
    await nl.replaceRoute({ dst: '10.1.0.0/16', gateway: '10.77.0.2', protocol: 87 });
    await nl.replaceRoute({ dst: '10.2.0.0/16', type: 'unreachable', gateway: '10.77.0.2' }).catch(() => undefined);
    await nl.deleteRoute({ dst: '10.1.0.0/16', gateway: '10.77.0.3' }).catch(() => undefined);
    expect(nl.calls).toEqual([
      { op: 'createBridge', args: { name: 'd0' } },
      { op: 'setLink', args: { name: 'd0', change: { up: true } } },
      { op: 'addAddress', args: { dev: 'd0', cidr: '10.77.0.1/24' } },
      { op: 'replaceRoute', args: { dst: '10.1.0.0/16', gateway: '10.77.0.2', protocol: 87 } },
      { op: 'replaceRoute', args: { dst: '10.2.0.0/16', type: 'unreachable', gateway: '10.77.0.2' }, error: 'EINVAL' },
      { op: 'deleteRoute', args: { dst: '10.1.0.0/16', gateway: '10.77.0.3' }, error: 'ESRCH' },
    ]);
    nl.failNext('replaceRoute', 'EBUSY');
    await expect(nl.replaceRoute({ dst: '10.1.0.0/16', gateway: '10.77.0.3' })).rejects.toMatchObject({ code: 'EBUSY' });
    expect((await nl.listRoutes()).find((r) => r.dst === '10.1.0.0/16')?.gateway).toBe('10.77.0.2');
  });

  test('not modelled: replacing a connected route (the kernel would overwrite it)', async () => {
    const nl = new FakeNetlink();
    await nl.createBridge({ name: 'd0' });
    await nl.setLink('d0', { up: true });
    await nl.addAddress('d0', '10.77.0.1/24');
    await expect(nl.replaceRoute({ dst: '10.77.0.0/24', gateway: '10.77.0.2' })).rejects.toThrow('not modelled');
  });

  test('generated MACs are unique locally administered unicast addresses', async () => {
    const nl = new FakeNetlink();
    await nl.createVeth({ name: 'a', peerName: 'b' });
    await nl.createBridge({ name: 'c' });
    const macs = (await nl.listLinks()).filter((l) => l.name !== 'lo').map((l) => l.mac);
    expect(new Set(macs).size).toBe(3);
    for (const m of macs) expect(m).toMatch(/^02:/);
  });
  describe('namespaces', () => {
    test('ref: one per twin, with a fake descriptor no other twin shares', () => {
      const [a, b] = [new FakeNetlink(), new FakeNetlink()];
      expect(a.ref('x')).toBe(a.ref('ignored'));
      expect(a.ref().path).toBe('x');
      expect(b.ref().fd).not.toBe(a.ref().fd);
      expect(a.ref().fd).toBeGreaterThanOrEqual(1 << 20);
    });

    test('a vxlan made elsewhere goes with its lower device here, and is found by VNI here after a move', async () => {
      const [host, dp] = [new FakeNetlink(), new FakeNetlink()];
      await host.createBridge({ name: 'under', mtu: 1500 });
      await host.createVxlan({ name: 'vx', vni: 9, port: 4789, learning: false, dev: 'under', netns: dp.ref() });
      expect((await dp.getLink('vx'))?.mtu).toBe(1450); // the lower device's MTU, resolved here
      await expect(host.createVxlan({ name: 'vy', vni: 9, port: 4789, learning: false, dev: 'under' })).rejects.toMatchObject({ code: 'EEXIST' });
      // moved on to a third namespace: still the host's
      const third = new FakeNetlink();
      await dp.moveLink('vx', third.ref());
      await expect(host.createVxlan({ name: 'vz', vni: 9, port: 4789, learning: false, dev: 'under' })).rejects.toMatchObject({ code: 'EEXIST' });
      await host.deleteLink('under');
      expect(await third.getLink('vx')).toBeUndefined();
      // and one moved back home is an ordinary device of the host
      await host.createBridge({ name: 'under', mtu: 1500 });
      await host.createVxlan({ name: 'vx', vni: 9, port: 4789, learning: false, dev: 'under', netns: dp.ref() });
      await dp.moveLink('vx', host.ref());
      await host.deleteLink('under');
      expect(await host.getLink('vx')).toBeUndefined();
    });

    test('a link moved in keeps its ifindex when free, and later links skip it', async () => {
      const [a, b] = [new FakeNetlink(), new FakeNetlink()];
      for (const n of ['b1', 'b2', 'b3']) await a.createBridge({ name: n });
      await a.moveLink('b3', b.ref());
      expect((await b.getLink('b3'))?.index).toBe(4);
      await b.createBridge({ name: 'c2' });
      await b.createBridge({ name: 'c3' });
      await b.createBridge({ name: 'c4' });
      expect((await b.listLinks()).map((l) => l.index)).toEqual([1, 2, 3, 4, 5]);
      await b.moveLink('c2', a.ref()); // index 2 is taken in a: a new one
      expect((await a.getLink('c2'))?.index).toBe(5);
    });

    test('moveLink is recorded; a bridge with ports is not modelled', async () => {
      const [a, b] = [new FakeNetlink(), new FakeNetlink()];
      await a.createBridge({ name: 'br' });
      await a.createVeth({ name: 'h', peerName: 'p', master: 'br' });
      await a.moveLink('p', b.ref('dp'));
      expect(a.calls.at(-1)).toEqual({ op: 'moveLink', args: { name: 'p', to: 'dp' } });
      await expect(a.moveLink('br', b.ref())).rejects.toThrow('not modelled');
    });
  });
});
