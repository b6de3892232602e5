/** The daemon's choice of where bridges live (src/network/bridgeNamespace.ts), against the kernel. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBridgeNamespace } from '../../src/network/bridgeNamespace';
import { removeNetns, withNetns } from '../../src/netlink/netns';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { SyscallError } from '../../src/util/syscall';
import { separate } from '../../src/network/namespaces';
import { silentLogger } from '../../src/util/log';

jest.setTimeout(30_000);

const NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
let dir: string;
let pin: string;
let host: RtNetlink;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bridgens-'));
  pin = path.join(dir, 'weft');
  host = await RtNetlink.open();
});
afterAll(async () => {
  removeNetns(pin);
  fs.rmSync(dir, { recursive: true, force: true });
  await host.close();
});

test('a pinned namespace of its own: devices there unseen here, br_netfilter off there only, and still there after close', async () => {
  const a = await openBridgeNamespace(host, pin, silentLogger);
  expect(separate(a.ns)).toBe(true);
  expect(a.where).toBe(pin);
  expect(a.ns.host.nl).toBe(host);
  await a.ns.bridges.nl.createBridge({ name: 'kbn-br' });
  expect(await host.getLink('kbn-br')).toBeUndefined();
  // with br_netfilter in the kernel (built in here; Docker loads the module elsewhere): on here, off in weft's
  // namespace; without it there is nothing to turn off, and weft makes no file
  const inNs = withNetns(a.ns.bridges.ref, () => (fs.existsSync(NF) ? fs.readFileSync(NF, 'utf8').trim() : undefined));
  if (fs.existsSync(NF)) expect([fs.readFileSync(NF, 'utf8').trim(), inNs]).toEqual(['1', '0']);
  else expect(inNs).toBeUndefined();
  await a.close();
  // a daemon that starts again finds the namespace with what was left in it (running containers' veths)
  const b = await openBridgeNamespace(host, pin, silentLogger);
  expect((await b.ns.bridges.nl.getLink('kbn-br'))?.kind).toBe('bridge');
  await b.ns.bridges.nl.deleteLink('kbn-br');
  await b.close();
});

test('host: one namespace, the host\'s', async () => {
  const h = await openBridgeNamespace(host, undefined, silentLogger);
  expect(separate(h.ns)).toBe(false);
  expect(h.ns.bridges.nl).toBe(host);
  expect(h.where).toBe('the host namespace (--bridges-netns host)');
  await h.close();
});

test('without the privilege to make one (EPERM): the host\'s namespace, with a warning; any other failure is an error', async () => {
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as typeof silentLogger;
  const eperm = () => {
    throw new SyscallError('unshare', pin, 'Operation not permitted', 'CAP_SYS_ADMIN is needed');
  };
  const h = await openBridgeNamespace(host, pin, log, eperm);
  expect(separate(h.ns)).toBe(false);
  expect(h.where).toBe('the host namespace (no CAP_SYS_ADMIN to make one)');
  expect(warnings).toEqual([expect.stringContaining('without CAP_SYS_ADMIN')]);
  await h.close();
  const other = () => {
    throw new Error(`network namespace ${pin}: something else is there`);
  };
  await expect(openBridgeNamespace(host, pin, log, other)).rejects.toThrow('something else is there');
});
