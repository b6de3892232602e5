/** RtNetlink specifics the shared suite does not cover: socket queueing, reopen, dumps vs `ip`. */
import { execFileSync } from 'node:child_process';
import { removeLink, removeRoute } from '../../src/netlink/ensure';
import { NetlinkError } from '../../src/netlink/errors';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { expectCode } from './netlinkBehaviour';

jest.setTimeout(60_000);

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const bridge = (...args: string[]): string => execFileSync('bridge', args, { encoding: 'utf8' });

interface IpLinkInfo { info_data?: { proxy?: boolean }; info_slave_data?: { learning?: boolean; isolated?: boolean } }
const linkinfo = (dev: string): IpLinkInfo =>
  (JSON.parse(ip('-j', '-d', 'link', 'show', 'dev', dev)) as { linkinfo: IpLinkInfo }[])[0]!.linkinfo;
interface BridgeFdb { mac: string; dst?: string; flags: string[]; master?: string; state: string }
const bridgeFdb = (dev: string): BridgeFdb[] => JSON.parse(bridge('-j', 'fdb', 'show', 'dev', dev)) as BridgeFdb[];
/** `ip` leaves type out for unicast and the prefix for a /32, and names the default route */
interface IpRoute { type?: string; dst: string; gateway?: string; dev?: string; protocol?: string }
const ipRoutes = (): IpRoute[] => JSON.parse(ip('-j', 'route', 'show', 'table', 'main')) as IpRoute[];
const cidr = (dst: string): string => (dst === 'default' ? '0.0.0.0/0' : dst.includes('/') ? dst : `${dst}/32`);

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

  test('vxlan proxy and bridge port flags as `ip -d link` shows them, and read back as iproute2 sets them', async () => {
    made.push('kr-pb', 'kr-px', 'kr-py');
    await nl.createBridge({ name: 'kr-pb' });
    await nl.createVxlan({ name: 'kr-px', vni: 9101, port: 4789, learning: false, proxy: true });
    expect(linkinfo('kr-px').info_data?.proxy).toBe(true);
    await nl.setLink('kr-px', { master: 'kr-pb' });
    expect(linkinfo('kr-px').info_slave_data).toMatchObject({ learning: true, isolated: false });
    await nl.setBridgePort('kr-px', { learning: false, isolated: true });
    expect(linkinfo('kr-px').info_slave_data).toMatchObject({ learning: false, isolated: true });

    bridge('link', 'set', 'dev', 'kr-px', 'learning', 'on', 'isolated', 'off');
    expect((await nl.getLink('kr-px'))?.bridgePort).toEqual({ learning: true, isolated: false });
    ip('link', 'add', 'kr-py', 'type', 'vxlan', 'id', '9102', 'dstport', '4789', 'proxy');
    expect((await nl.getLink('kr-py'))?.vxlan?.proxy).toBe(true);
  });

  test('routes as `ip route` shows them: protocol, unreachable, replace; iproute2\'s read back alike, blackholes left out', async () => {
    made.push('kr-r');
    const loose = ['10.252.0.0/16', '10.253.0.0/16', '10.247.0.0/16', '10.248.0.0/16', '10.249.0.0/16'];
    try {
      await nl.createBridge({ name: 'kr-r' });
      await nl.setLink('kr-r', { up: true });
      await nl.addAddress('kr-r', '10.251.0.1/24');
      await nl.addRoute({ dst: '10.252.0.0/16', gateway: '10.251.0.2', protocol: 87 });
      await nl.replaceRoute({ dst: '10.252.0.0/16', gateway: '10.251.0.3', protocol: 87 });
      await nl.replaceRoute({ dst: '10.253.0.0/16', type: 'unreachable', protocol: 87 });
      const theirs = ipRoutes();
      expect(theirs.filter((r) => r.dst === '10.252.0.0/16')).toEqual([
        expect.objectContaining({ dst: '10.252.0.0/16', gateway: '10.251.0.3', dev: 'kr-r', protocol: '87' }),
      ]);
      expect(theirs).toContainEqual(expect.objectContaining({ type: 'unreachable', dst: '10.253.0.0/16', protocol: '87' }));
      expect(theirs.find((r) => r.dst === '10.253.0.0/16')?.dev).toBeUndefined();

      ip('route', 'add', 'unreachable', '10.247.0.0/16', 'proto', '88');
      ip('route', 'add', 'blackhole', '10.248.0.0/16');
      ip('route', 'add', 'prohibit', '10.249.0.0/16');
      const ours = await nl.listRoutes();
      expect(ours).toContainEqual({ dst: '10.247.0.0/16', table: 254, protocol: 88, type: 'unreachable' });
      // exactly the unicast and unreachable routes `ip` shows
      const listed = ipRoutes().filter((r) => r.type === undefined || r.type === 'unreachable').map((r) => cidr(r.dst));
      expect(ours.map((r) => r.dst).sort()).toEqual(listed.sort());
      expect(ours.map((r) => r.dst)).not.toContain('10.248.0.0/16');
    } finally {
      for (const dst of loose) await removeRoute(nl, { dst });
    }
  });

  test('FDB as `bridge fdb` shows it: REPLACE moves a unicast vxlan dst in place, master entries are static', async () => {
    made.push('kr-fb', 'kr-fx', 'kr-fv');
    await nl.createBridge({ name: 'kr-fb' });
    await nl.createVxlan({ name: 'kr-fx', vni: 9103, port: 4789, learning: false });
    await nl.createVeth({ name: 'kr-fv', peerName: 'kr-fw' });
    for (const port of ['kr-fx', 'kr-fv']) await nl.setLink(port, { master: 'kr-fb' });
    const unicast = '02:00:00:00:00:61';
    await nl.setFdb({ dev: 'kr-fx', mac: unicast, dst: '192.0.2.1' });
    await nl.setFdb({ dev: 'kr-fx', mac: unicast, dst: '192.0.2.2' });
    expect(bridgeFdb('kr-fx').filter((e) => e.mac === unicast)).toEqual([
      expect.objectContaining({ dst: '192.0.2.2', flags: ['self'], state: 'permanent' }),
    ]);
    await nl.setFdb({ dev: 'kr-fv', mac: '02:00:00:00:00:62', master: true });
    expect(bridgeFdb('kr-fv').find((e) => e.mac === '02:00:00:00:00:62')).toMatchObject({ master: 'kr-fb', state: 'static', flags: [] });

    // what iproute2 adds, listFdb reads alike; and listFdb(dev) is exactly `bridge fdb show dev`
    bridge('fdb', 'replace', '02:00:00:00:00:63', 'dev', 'kr-fx', 'master', 'static');
    bridge('fdb', 'append', '00:00:00:00:00:00', 'dev', 'kr-fx', 'dst', '192.0.2.9', 'self', 'permanent');
    const [vx, br] = [(await nl.getLink('kr-fx'))?.index, (await nl.getLink('kr-fb'))?.index];
    const ours = await nl.listFdb('kr-fx');
    expect(ours).toContainEqual({ ifindex: vx, mac: '02:00:00:00:00:63', state: 0x40, self: false, master: br });
    // iproute2's "permanent" is NUD_NOARP|NUD_PERMANENT; vxlan keeps the state as given
    expect(ours).toContainEqual({ ifindex: vx, mac: '00:00:00:00:00:00', dst: '192.0.2.9', state: 0xc0, self: true });
    for (const dev of ['kr-fx', 'kr-fv', 'kr-fb']) {
      const key = (e: { mac: string; dst?: string }) => `${e.mac} ${e.dst ?? ''}`;
      expect((await nl.listFdb(dev)).map(key).sort()).toEqual(bridgeFdb(dev).map(key).sort());
    }
  });
});
