/**
 * Network namespaces (src/netlink/netns.ts) and RtNetlink inside one (NsRtnlSocket), against the kernel.
 * Pins go in a fresh /tmp directory; one left by an interrupted run (its process gone) is swept first.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RTM_GETLINK, RTM_NEWLINK } from '../../src/netlink/codec/constants';
import { encodeLinkByName, encodeLinkDump } from '../../src/netlink/codec/link';
import {
  currentNetns, ensureNetns, openNetns, removeNetns, withNetns, type NetnsHandle,
} from '../../src/netlink/netns';
import { NsRtnlSocket } from '../../src/netlink/nsSocket';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { SYSCALL_NUMBERS, SyscallError } from '../../src/util/syscall';
import { expectCode, netlinkError } from './netlinkBehaviour';

/** set: sendto pretends to send, so the kernel never answers (the only way to make rtnetlink silent) */
let mockDropSends = false;
jest.mock('../../src/util/syscall', () => {
  const actual = jest.requireActual<typeof import('../../src/util/syscall')>('../../src/util/syscall');
  return {
    ...actual,
    syscallAsync: (...a: Parameters<typeof actual.syscallAsync>) =>
      (mockDropSends && a[0] === 'sendto' ? Promise.resolve(0n) : actual.syscallAsync(...a)),
  };
});

jest.setTimeout(60_000);

const PREFIX = 'weft-netns-test-';
const THREAD_NETNS = '/proc/thread-self/ns/net';
/** the namespace inode the main thread is in now */
const here = (): number => fs.statSync(THREAD_NETNS).ino;
const inode = (h: { fd: number }): number => fs.fstatSync(h.fd).ino;
const ipIn = (pin: string, ...args: string[]): string =>
  execFileSync('nsenter', [`--net=${pin}`, 'ip', ...args], { encoding: 'utf8' });
const linksIn = (pin: string): string[] =>
  (JSON.parse(ipIn(pin, '-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname);
const names = async (nl: RtNetlink): Promise<string[]> => (await nl.listLinks()).map((l) => l.name);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** pins (and the directories) of runs whose process is gone */
function sweepLeftovers(): void {
  for (const dir of fs.readdirSync(os.tmpdir())) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(dir)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    const full = path.join(os.tmpdir(), dir);
    for (const f of fs.readdirSync(full, { recursive: true, encoding: 'utf8' }).reverse()) {
      const p = path.join(full, f);
      if (!fs.statSync(p).isDirectory()) removeNetns(p);
    }
    fs.rmSync(full, { recursive: true, force: true });
  }
}

let tmp: string;
const pins: string[] = [];
const handles: NetnsHandle[] = [];
/** a fresh pin path under tmp, removed after the test */
function pinPath(name: string): string {
  const p = path.join(tmp, name);
  pins.push(p);
  return p;
}
function keep(h: NetnsHandle): NetnsHandle {
  handles.push(h);
  return h;
}

beforeAll(() => {
  sweepLeftovers();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
});
afterEach(() => {
  for (const h of handles.splice(0)) h.close();
  for (const p of pins.splice(0)) removeNetns(p);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the syscall numbers weft carries are syscall-napi's", async () => {
  const sys = (await import('syscall-napi')).default as unknown as Record<string, unknown>;
  const ours = SYSCALL_NUMBERS[process.arch]!;
  for (const [name, nr] of Object.entries(ours)) expect([name, sys[`__NR_${name}`]]).toEqual([name, nr]);
});

describe('pinned namespaces', () => {
  test('ensureNetns creates a namespace pinned at the path (parent directories too), and is idempotent', () => {
    const pin = pinPath('a/b/ns1');
    const before = here();
    const a = keep(ensureNetns(pin));
    expect(fs.statfsSync(pin).type).toBe(0x6e736673);
    expect(a.path).toBe(pin);
    expect(inode(a)).not.toBe(before);
    expect(here()).toBe(before);
    const b = keep(ensureNetns(pin));
    const c = keep(openNetns(pin));
    expect(b.fd).not.toBe(a.fd);
    expect(inode(b)).toBe(inode(a));
    expect(inode(c)).toBe(inode(a));
    // a fresh namespace holds only lo
    expect(linksIn(pin)).toEqual(['lo']);
  });

  test('currentNetns is the main thread namespace', () => {
    const cur = keep(currentNetns());
    expect(inode(cur)).toBe(here());
    expect(inode(cur)).toBe(fs.statSync(`/proc/${process.pid}/ns/net`).ino);
  });

  test('two pins are two namespaces', () => {
    const a = keep(ensureNetns(pinPath('two-a')));
    const b = keep(ensureNetns(pinPath('two-b')));
    expect(inode(a)).not.toBe(inode(b));
  });

  test('an empty file pinning nothing (a crash before the mount) is reused; anything else there is refused', () => {
    const leftover = pinPath('leftover');
    fs.writeFileSync(leftover, '');
    keep(ensureNetns(leftover));
    expect(fs.statfsSync(leftover).type).toBe(0x6e736673);

    const full = pinPath('full');
    fs.writeFileSync(full, 'x');
    expect(() => ensureNetns(full)).toThrow(`network namespace ${full}: something else is there`);
    expect(fs.readFileSync(full, 'utf8')).toBe('x');
    const dir = path.join(tmp, 'dir');
    fs.mkdirSync(dir);
    expect(() => ensureNetns(dir)).toThrow(/something else is there/);
  });

  test('openNetns: a missing path and a path pinning nothing are clear errors', () => {
    const missing = path.join(tmp, 'missing');
    expect(() => openNetns(missing)).toThrow(`network namespace ${missing}: no such file`);
    const plain = pinPath('plain');
    fs.writeFileSync(plain, '');
    expect(() => openNetns(plain)).toThrow(`network namespace ${plain}: not a pinned namespace (nothing is mounted there)`);
    expect(() => openNetns(tmp)).toThrow(/not a pinned namespace/);
  });

  test('openNetns refuses a pinned namespace of another type', () => {
    const uts = pinPath('uts');
    fs.writeFileSync(uts, '');
    execFileSync('mount', ['--bind', `/proc/${process.pid}/ns/uts`, uts]);
    expect(fs.statfsSync(uts).type).toBe(0x6e736673);
    expect(() => openNetns(uts)).toThrow(`network namespace ${uts}: pins a namespace of another type (0x4000000)`);
  });

  test('removeNetns unpins and removes the file; then openNetns fails and removeNetns is false', () => {
    const pin = pinPath('gone');
    ensureNetns(pin).close();
    expect(removeNetns(pin)).toBe(true);
    expect(fs.existsSync(pin)).toBe(false);
    expect(() => openNetns(pin)).toThrow(/no such file/);
    expect(removeNetns(pin)).toBe(false);
    // an empty leftover file is removed too
    fs.writeFileSync(pin, '');
    expect(removeNetns(pin)).toBe(true);
    expect(fs.existsSync(pin)).toBe(false);
  });

  test('removeNetns undoes stacked pins', () => {
    const pin = pinPath('stacked');
    const h = keep(ensureNetns(pin));
    execFileSync('mount', ['--bind', `/proc/${process.pid}/ns/net`, pin]);
    expect(inode(keep(openNetns(pin)))).not.toBe(inode(h));
    expect(removeNetns(pin)).toBe(true);
    expect(fs.existsSync(pin)).toBe(false);
  });
});

describe('withNetns', () => {
  test('runs fn inside the namespace and returns its value, then switches back', () => {
    const ns = keep(ensureNetns(pinPath('with')));
    const before = here();
    expect(withNetns(ns, () => here())).toBe(inode(ns));
    expect(here()).toBe(before);
  });

  test('switches back when fn throws, and the error is fn’s', () => {
    const ns = keep(ensureNetns(pinPath('throws')));
    const before = here();
    const boom = new Error('boom');
    let seen = 0;
    expect(() => withNetns(ns, () => {
      seen = here();
      throw boom;
    })).toThrow(boom);
    expect(seen).toBe(inode(ns));
    expect(here()).toBe(before);
  });

  test('nests', () => {
    const a = keep(ensureNetns(pinPath('nest-a')));
    const b = keep(ensureNetns(pinPath('nest-b')));
    const before = here();
    const seen = withNetns(a, () => [here(), withNetns(b, () => here()), here()]);
    expect(seen).toEqual([inode(a), inode(b), inode(a)]);
    expect(here()).toBe(before);
  });

  test('an async fn is refused, after switching back', async () => {
    const ns = keep(ensureNetns(pinPath('async')));
    const before = here();
    let ran = false;
    expect(() => withNetns(ns, async () => {
      ran = true;
      await Promise.resolve();
      throw new Error('rejected later, not unhandled');
    })).toThrow(/fn returned a Promise; only synchronous work can run inside a namespace/);
    expect(ran).toBe(true);
    expect(here()).toBe(before);
    await new Promise((r) => setImmediate(r));
  });

  test('a descriptor that is no namespace: setns fails, naming it, and nothing switched', () => {
    const plain = path.join(tmp, 'plain-fd');
    fs.writeFileSync(plain, '');
    const fd = fs.openSync(plain, 'r');
    const before = here();
    try {
      expect(() => withNetns({ fd, path: plain }, () => 1)).toThrow(`setns ${plain}: Invalid argument (EINVAL; not a network namespace)`);
      expect(() => withNetns({ fd: 987_654 }, () => 1)).toThrow(SyscallError);
      expect(() => withNetns({ fd: 987_654 }, () => 1)).toThrow('setns fd 987654: Bad file descriptor (EBADF)');
    } finally {
      fs.closeSync(fd);
    }
    expect(here()).toBe(before);
  });
});

describe('RtNetlink.openIn', () => {
  let host: RtNetlink;
  beforeAll(async () => {
    host = await RtNetlink.open({ timeoutMs: 5000 });
  });
  afterAll(async () => {
    await host.close();
  });

  async function inside(name: string): Promise<{ pin: string; ns: NetnsHandle; nl: RtNetlink }> {
    const pin = pinPath(name);
    const ns = keep(ensureNetns(pin));
    return { pin, ns, nl: await RtNetlink.openIn(ns, { timeoutMs: 5000 }) };
  }

  test('links made inside are seen inside only, and the host’s are not seen inside', async () => {
    const { pin, nl } = await inside('links');
    try {
      await nl.createBridge({ name: 'kn-in', mtu: 1400 });
      await host.createBridge({ name: 'kn-host' });
      expect(await names(nl)).toEqual(expect.arrayContaining(['lo', 'kn-in']));
      expect(await names(nl)).not.toContain('kn-host');
      expect(await host.getLink('kn-in')).toBeUndefined();
      expect(await names(host)).toContain('kn-host');
      expect(await nl.getLink('kn-in')).toMatchObject({ name: 'kn-in', mtu: 1400 });
      expect(linksIn(pin).sort()).toEqual(['kn-in', 'lo']);
    } finally {
      await host.deleteLink('kn-host').catch(() => undefined);
      await nl.close();
    }
  });

  test('kernel errors map to their codes', async () => {
    const { nl } = await inside('errors');
    try {
      await nl.createBridge({ name: 'kn-dup' });
      const e = await expectCode(nl.createBridge({ name: 'kn-dup' }), 'EEXIST');
      expect(e.message).toBe('create bridge kn-dup: EEXIST (File exists)');
      await expectCode(nl.deleteLink('kn-none'), 'ENODEV');
      await expectCode(nl.setLink('kn-none', { mtu: 1300 }), 'ENODEV');
      // the socket is still good after errors
      await nl.deleteLink('kn-dup');
      expect(await nl.getLink('kn-dup')).toBeUndefined();
    } finally {
      await nl.close();
    }
  });

  test('a dump longer than one read comes back whole', async () => {
    const { pin, ns, nl } = await inside('big');
    const made = Array.from({ length: 150 }, (_, i) => `kn-b${i}`);
    try {
      for (const name of made) await nl.createBridge({ name });
      const listed = await names(nl);
      expect(listed.filter((n) => n.startsWith('kn-b')).sort()).toEqual([...made].sort());
      expect(listed.sort()).toEqual(linksIn(pin).sort());
      // more bytes than one 64 KiB read could hold, so the loop really read several datagrams
      const raw = new NsRtnlSocket(ns, 5000);
      try {
        const parts = await raw.dump('list links', RTM_GETLINK, encodeLinkDump());
        expect(parts.filter((p) => p.type === RTM_NEWLINK)).toHaveLength(151);
        expect(parts.reduce((n, p) => n + p.payload.length + 16, 0)).toBeGreaterThan(64 * 1024);
        expect(raw.staleMessages).toBe(0);
      } finally {
        await raw.close();
      }
    } finally {
      await Promise.all(made.map((n) => nl.deleteLink(n)));
      expect(await names(nl)).toEqual(['lo']);
      await nl.close();
    }
  });

  test('many requests in flight at once are serialised, none lost', async () => {
    const { nl } = await inside('queue');
    const made = Array.from({ length: 30 }, (_, i) => `kn-q${i}`);
    try {
      await Promise.all(made.map((name) => nl.createBridge({ name })));
      const results = await Promise.all([
        ...made.map((n) => nl.getLink(n)),
        nl.listLinks(),
        ...made.map((n) => nl.setLink(n, { mtu: 1280 + made.indexOf(n) })),
        nl.getLink('kn-missing'),
      ]);
      expect(results.slice(0, 30).map((l) => (l as { name: string }).name)).toEqual(made);
      expect(results[results.length - 1]).toBeUndefined();
      const mtus = await Promise.all(made.map(async (n) => (await nl.getLink(n))?.mtu));
      expect(mtus).toEqual(made.map((_, i) => 1280 + i));
    } finally {
      await Promise.all(made.map((n) => nl.deleteLink(n)));
      await nl.close();
    }
  });

  test('close() waits for queued requests; a later request reopens', async () => {
    const { nl } = await inside('reopen');
    const created = nl.createBridge({ name: 'kn-r' });
    const closed = nl.close();
    await created;
    await closed;
    expect(await nl.getLink('kn-r')).toMatchObject({ name: 'kn-r' });
    await nl.close();
    await nl.close();
    await nl.deleteLink('kn-r');
    expect(await names(nl)).toEqual(['lo']);
    await nl.close();
  });

  test('opening in something that is no namespace is a NetlinkError', async () => {
    const plain = path.join(tmp, 'plain-open');
    fs.writeFileSync(plain, '');
    const fd = fs.openSync(plain, 'r');
    try {
      const e = await expectCode(RtNetlink.openIn({ fd, path: plain }), 'EINVAL');
      expect(e.message).toContain(`open netlink socket in ${plain}`);
      expect(e.message).toContain('not a network namespace');
    } finally {
      fs.closeSync(fd);
    }
  });

  test('the namespace, and its devices, go once the pin, the handle and the socket are all gone', async () => {
    const { pin, ns, nl } = await inside('vanish');
    // one veth end inside, the other in this test's namespace: it lives exactly as long as the namespace
    await nl.createVeth({ name: 'kn-vin', peerName: 'kn-vout' });
    ipIn(pin, 'link', 'set', 'kn-vout', 'netns', String(process.pid));
    expect(await host.getLink('kn-vout')).toBeDefined();
    expect(await names(nl)).toEqual(expect.arrayContaining(['kn-vin']));

    expect(removeNetns(pin)).toBe(true);
    ns.close();
    // the open netlink socket still holds the namespace
    await new Promise((r) => setTimeout(r, 500));
    expect(await host.getLink('kn-vout')).toBeDefined();
    expect(await nl.getLink('kn-vin')).toBeDefined();

    await nl.close();
    await until('the namespace is gone with its veth', async () => (await host.getLink('kn-vout')) === undefined);
  });
});

describe('NsRtnlSocket', () => {
  test('a request the kernel never answers times out (SO_RCVTIMEO) without blocking the event loop; the next one works', async () => {
    const ns = keep(ensureNetns(pinPath('timeout')));
    const raw = new NsRtnlSocket(ns, 400);
    await raw.open();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = Date.now();
    try {
      mockDropSends = true;
      const e = await netlinkError(raw.request('get link lo', RTM_GETLINK, 0, encodeLinkByName('lo')));
      mockDropSends = false;
      expect(e).toMatchObject({ code: 'EUNKNOWN', errno: 110 });
      expect(e.message).toBe('get link lo: EUNKNOWN (no reply within 400 ms)');
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      expect(ticks).toBeGreaterThanOrEqual(5);
      const replies = await raw.request('get link lo', RTM_GETLINK, 0, encodeLinkByName('lo'));
      expect(replies.map((r) => r.type)).toEqual([RTM_NEWLINK]);
    } finally {
      mockDropSends = false;
      clearInterval(timer);
      await raw.close();
    }
  });
});
