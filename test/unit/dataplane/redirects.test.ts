/**
 * Redirects: which devices get each routed subnet's program, from weft's routes alone; what goes when the
 * routes go; and how a kernel that refuses turns redirects off without touching the routes.
 */
import { parseCidr } from '../../../src/addr/cidr';
import { redirectDevices, Redirects } from '../../../src/dataplane/redirect/redirects';
import { RecordingTcx } from '../../../src/dataplane/redirect/tcx';
import type { RouteInfo } from '../../../src/netlink/types';
import { ROUTE_PROTOCOL } from '../../../src/network/routed';
import { redirectText } from '../../../src/cli/commands/status';
import { silentLogger } from '../../../src/util/log';
import { SyscallError } from '../../../src/util/syscall';

const A = '10.44.0.0/16';
const B = '10.45.0.0/24';

const route = (dst: string, ifindex: number | undefined, o: Partial<RouteInfo> = {}): RouteInfo => ({
  dst, table: 254, protocol: ROUTE_PROTOCOL, type: 'unicast', ...(ifindex === undefined ? {} : { ifindex }), ...o,
});
const local = (ip: string, hostEnd: number) => route(`${ip}/32`, hostEnd, { priority: 10 });
const remote = (ip: string, underlay: number, via = '192.168.91.2') => route(`${ip}/32`, underlay, { gateway: via, priority: 20 });

describe('redirectDevices', () => {
  test('host ends of local containers and devices towards peers, once each', () => {
    const routes = [local('10.44.0.2', 11), local('10.44.0.3', 12), remote('10.44.128.0', 2), remote('10.44.128.1', 2), remote('10.44.200.9', 3, '192.168.92.7')];
    expect([...redirectDevices(A, routes)].sort((x, y) => x - y)).toEqual([2, 3, 11, 12]);
  });

  test.each<[string, RouteInfo]>([
    ['another subnet', local('10.45.0.2', 11)],
    ['not weft\'s protocol', route('10.44.0.2/32', 11, { protocol: 4 })],
    ['the unreachable subnet route', route(A, undefined, { type: 'unreachable' })],
    ['a route wider than one address', route('10.44.1.0/24', 11)],
    ['a connected route', route('192.168.91.0/24', 2, { protocol: 2 })],
    ['a route without a device', route('10.44.0.9/32', undefined)],
  ])('ignores %s', (_what, r) => {
    expect(redirectDevices(A, [r]).size).toBe(0);
  });
});

function setUp() {
  const tcx = new RecordingTcx();
  const r = new Redirects({ tcx, log: silentLogger });
  return { tcx, r };
}

describe('Redirects.sync', () => {
  test('each subnet\'s program on its devices; one program per subnet, loaded once', () => {
    const { tcx, r } = setUp();
    const routes = [local('10.44.0.2', 11), remote('10.44.128.0', 2), local('10.45.0.2', 21), remote('10.45.0.9', 2)];
    r.sync([A, B], routes);
    r.sync([A, B], routes);
    expect(tcx.attached()).toEqual(new Map([[11, [A]], [2, [A, B]], [21, [B]]]));
    expect(tcx.calls.filter((c) => c.op === 'load').map((c) => c.op === 'load' && c.subnet)).toEqual([A, B]);
    expect(tcx.calls.filter((c) => c.op === 'attach')).toHaveLength(4);
    expect(r.status()).toEqual({ on: true, devices: 4, subnets: { [A]: 2, [B]: 2 } });
  });

  test('a container gone (its route with it): its host end\'s link is closed; a new one is attached', () => {
    const { tcx, r } = setUp();
    r.sync([A], [local('10.44.0.2', 11), local('10.44.0.3', 12), remote('10.44.128.0', 2)]);
    r.sync([A], [local('10.44.0.3', 12), remote('10.44.128.0', 2), local('10.44.0.4', 13)]);
    expect([...tcx.attached().keys()].sort((x, y) => x - y)).toEqual([2, 12, 13]);
    expect(tcx.calls.filter((c) => c.op === 'attach')).toHaveLength(4);
    expect(tcx.calls.filter((c) => c.op === 'close')).toHaveLength(1);
  });

  test('a pair re-made under the same name has a new ifindex: the old link goes, the new device gets one', () => {
    const { tcx, r } = setUp();
    r.sync([A], [local('10.44.0.2', 11)]);
    r.sync([A], [local('10.44.0.2', 14)]);
    expect([...tcx.attached().keys()]).toEqual([14]);
  });

  test('a subnet no longer routed here: its links and its program are closed', () => {
    const { tcx, r } = setUp();
    r.sync([A, B], [local('10.44.0.2', 11), local('10.45.0.2', 21)]);
    r.sync([B], [local('10.44.0.2', 11), local('10.45.0.2', 21)]);
    expect(tcx.attached()).toEqual(new Map([[21, [B]]]));
    expect([...tcx.programs.values()]).toEqual([B]);
  });

  test('a subnet with no routes yet loads no program', () => {
    const { tcx, r } = setUp();
    r.sync([A], [route(A, undefined, { type: 'unreachable' })]);
    expect(tcx.calls).toEqual([]);
    expect(r.status()).toEqual({ on: true, devices: 0, subnets: {} });
  });

  test('closeAll takes every link and program away; a later sync puts them back', () => {
    const { tcx, r } = setUp();
    const routes = [local('10.44.0.2', 11), remote('10.44.128.0', 2)];
    r.sync([A], routes);
    r.closeAll();
    expect(tcx.links.size + tcx.programs.size).toBe(0);
    r.sync([A], routes);
    expect(tcx.links.size).toBe(2);
  });
});

describe('a kernel that refuses', () => {
  test('the program: redirects off for good, the reason in the status, nothing left open', () => {
    const { tcx, r } = setUp();
    tcx.fail.load = new SyscallError('bpf', 'PROG_LOAD weft_redirect', 'Operation not permitted');
    r.sync([A], [local('10.44.0.2', 11)]);
    expect(r.status()).toEqual({ on: false, off: expect.stringMatching(/refused the program: bpf PROG_LOAD weft_redirect: Operation not permitted/), devices: 0, subnets: {} });
    delete tcx.fail.load;
    r.sync([A], [local('10.44.0.2', 11)]);
    expect(tcx.calls).toEqual([]);
  });

  test.each(['Invalid argument', 'Operation not permitted', 'Operation not supported'])('an attach failing with "%s" (no tcx, no right): off, what was attached closed', (text) => {
    const { tcx, r } = setUp();
    r.sync([A], [local('10.44.0.2', 11)]);
    tcx.fail.attach = new SyscallError('bpf', 'LINK_CREATE tcx on ifindex 12', text);
    r.sync([A], [local('10.44.0.2', 11), local('10.44.0.3', 12)]);
    expect(r.status()).toMatchObject({ on: false, devices: 0 });
    expect(tcx.links.size + tcx.programs.size).toBe(0);
  });

  test('ENODEV (the device went meanwhile) or anything else on one device: the others are attached, it is tried again', () => {
    const { tcx, r } = setUp();
    tcx.fail.attach = new SyscallError('bpf', 'LINK_CREATE tcx on ifindex 11', 'No such device');
    r.sync([A], [local('10.44.0.2', 11)]);
    expect(r.status()).toEqual({ on: true, devices: 0, subnets: {} });
    delete tcx.fail.attach;
    r.sync([A], [local('10.44.0.2', 11)]);
    expect(r.status()).toEqual({ on: true, devices: 1, subnets: { [A]: 1 } });
    tcx.fail.attach = new SyscallError('bpf', 'LINK_CREATE tcx on ifindex 12', 'Cannot allocate memory');
    r.sync([A], [local('10.44.0.2', 11), local('10.44.0.3', 12)]);
    expect(r.status()).toEqual({ on: true, devices: 1, subnets: { [A]: 1 } });
  });
});

test('RecordingTcx refuses what the kernel would: attach of a closed program, close of an unknown handle', () => {
  const tcx = new RecordingTcx();
  const p = tcx.load(parseCidr(A));
  tcx.close(p);
  expect(() => tcx.attach(p, 3)).toThrow(/not open/);
  expect(() => tcx.close(p)).toThrow(/not open/);
});

test('weft status words a routed network\'s forwarding from the daemon\'s view', () => {
  expect(redirectText({ on: true, devices: 3, subnets: { [A]: 2, [B]: 1 } }, A)).toBe('eBPF redirects on 2 devices');
  expect(redirectText({ on: true, devices: 3, subnets: { [A]: 2, [B]: 1 } }, B)).toBe('eBPF redirects on 1 device');
  expect(redirectText({ on: true, devices: 0, subnets: {} }, A)).toBe('eBPF redirects on 0 devices');
  expect(redirectText({ on: false, off: '--no-bpf', devices: 0, subnets: {} }, A)).toBe('forwarded by the stack (eBPF redirects off: --no-bpf)');
  // a daemon from before redirects
  expect(redirectText(undefined, A)).toBe('forwarded by the stack');
});
