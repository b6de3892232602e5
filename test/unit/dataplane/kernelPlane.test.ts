import type { Logger } from 'pino';
import { applyPlan } from '../../../src/dataplane/kernelPlane';
import type { NetworkPlan, OverlayNetwork } from '../../../src/dataplane/plan';
import { FakeNetlink } from '../../../src/netlink/fake';

/*
 * The bridge as DataPlane.attach leaves it: a VXLAN port (proxy, learning off) and the sleeve's TAP.
 * FakeNetlink has no TAP kind; a veth is the closest port it allows, and a bridge treats every port alike.
 */
const BR = 'weft-n1';
const VX = 'wfvn1';
const TAP = 'wftn1';
const ZERO = '00:00:00:00:00:00';
const net: OverlayNetwork = { id: 'n1n1n1n1n1n1n1n1n1', subnet: '10.32.0.0/16', vni: 0x123456, vxlan: VX, tap: TAP, gateway: '10.32.0.1' };
const { vxlan: _vx, ...noVxlanNet } = net;

const IP_B = '192.168.91.2';
const IP_C = '192.168.91.3';
const m = (n: number) => `02:42:0a:20:00:${n.toString(16).padStart(2, '0')}`;
const VX_OWN = '02:00:00:00:0f:01';
const TAP_OWN = '02:00:00:00:0f:02';

async function bridge(o: { vxlan?: boolean } = {}) {
  const nl = new FakeNetlink();
  await nl.createBridge({ name: BR });
  if (o.vxlan ?? true) {
    await nl.createVxlan({ name: VX, vni: net.vni, port: 4789, learning: false, proxy: true, mac: VX_OWN });
    await nl.setLink(VX, { master: BR, up: true });
    await nl.setBridgePort(VX, { learning: false, isolated: true });
  }
  await nl.createVeth({ name: TAP, peerName: 'wftn1peer', mac: TAP_OWN });
  await nl.setLink(TAP, { master: BR, up: true });
  await nl.setBridgePort(TAP, { learning: false, isolated: true });
  return nl;
}

function plan(p: Partial<Pick<NetworkPlan, 'ports' | 'vxlanMacs' | 'flood' | 'neighbours'>>): NetworkPlan {
  return {
    vxlanMacs: new Map(), flood: [], neighbours: new Map(), ports: new Map(),
    sleeveMacs: new Map(), sleeveFlood: [], arp: new Map(), addresses: new Map(), ...p,
  };
}

/** the kernel state applyPlan owns, plus the ports' own entries, in a comparable form */
async function state(nl: FakeNetlink) {
  const idx = async (name: string) => (await nl.getLink(name))?.index;
  const [br, vx, tap] = [await idx(BR), await idx(VX), await idx(TAP)];
  const fdb = await nl.listFdb();
  const bridgeEntries = (port: number | undefined, state: number) =>
    fdb.filter((f) => !f.self && f.master === br && f.ifindex === port && f.state === state).map((f) => f.mac).sort();
  return {
    vxlanPort: bridgeEntries(vx, 0x40),
    tapPort: bridgeEntries(tap, 0x40),
    own: [...bridgeEntries(vx, 0x80), ...bridgeEntries(tap, 0x80)],
    vxlan: fdb.filter((f) => f.self && f.ifindex === vx).map((f) => `${f.mac} ${f.dst}`).sort(),
    neighbours: (await nl.listNeighbours()).map((n) => `${n.ifindex === vx ? 'vx' : n.ifindex} ${n.ip} ${n.mac}`).sort(),
  };
}

function recordingLog() {
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const log = { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) } as unknown as Logger;
  return { log, warnings };
}

/** calls since `from`, as sortable text: applyPlan's order within a kind follows the kernel's dump order */
const callsSince = (nl: FakeNetlink, from: number) => nl.calls.slice(from).map((c) => `${c.op} ${JSON.stringify(c.args)}${c.error ? ` ${c.error}` : ''}`).sort();
const call = (op: string, args: object) => `${op} ${JSON.stringify(args)}`;

const first = plan({
  ports: new Map([[m(1), 'vxlan'], [m(2), 'vxlan'], [m(3), 'tap'], [m(4), 'vxlan']]),
  vxlanMacs: new Map([[m(1), IP_B], [m(2), IP_C], [m(4), IP_B]]),
  flood: [IP_B, IP_C],
  neighbours: new Map([['10.32.0.11', m(1)], ['10.32.0.12', m(2)], ['10.32.0.14', m(4)]]),
});

const firstState = {
  vxlanPort: [m(1), m(2), m(4)],
  tapPort: [m(3)],
  own: [VX_OWN, TAP_OWN],
  vxlan: [`${ZERO} ${IP_B}`, `${ZERO} ${IP_C}`, `${m(1)} ${IP_B}`, `${m(2)} ${IP_C}`, `${m(4)} ${IP_B}`],
  neighbours: [`vx 10.32.0.11 ${m(1)}`, `vx 10.32.0.12 ${m(2)}`, `vx 10.32.0.14 ${m(4)}`],
};

/**
 * m1 moves from B to C (still fast), m2 from the VXLAN port to the TAP (C went sleeve for it), m3 stays,
 * m4 is gone and its address 10.32.0.14 now belongs to a new m5 on C, B no longer gets broadcast.
 */
const second = plan({
  ports: new Map([[m(1), 'vxlan'], [m(2), 'tap'], [m(3), 'tap'], [m(5), 'vxlan']]),
  vxlanMacs: new Map([[m(1), IP_C], [m(5), IP_C]]),
  flood: [IP_C],
  neighbours: new Map([['10.32.0.11', m(1)], ['10.32.0.14', m(5)]]),
});

describe('applyPlan', () => {
  test('a fresh bridge gets exactly the planned entries, on the right ports', async () => {
    const nl = await bridge();
    const before = await state(nl);
    expect(before).toEqual({ vxlanPort: [], tapPort: [], own: [VX_OWN, TAP_OWN], vxlan: [], neighbours: [] });
    const mark = nl.calls.length;
    expect(await applyPlan(nl, net, first, recordingLog().log)).toBe(12);
    expect(await state(nl)).toEqual(firstState);
    expect(callsSince(nl, mark)).toEqual([
      call('addFdb', { dev: VX, mac: ZERO, dst: IP_B }),
      call('addFdb', { dev: VX, mac: ZERO, dst: IP_C }),
      call('setFdb', { dev: TAP, mac: m(3), master: true }),
      call('setFdb', { dev: VX, mac: m(1), dst: IP_B }),
      call('setFdb', { dev: VX, mac: m(1), master: true }),
      call('setFdb', { dev: VX, mac: m(2), dst: IP_C }),
      call('setFdb', { dev: VX, mac: m(2), master: true }),
      call('setFdb', { dev: VX, mac: m(4), dst: IP_B }),
      call('setFdb', { dev: VX, mac: m(4), master: true }),
      call('setNeighbour', { dev: VX, ip: '10.32.0.11', mac: m(1) }),
      call('setNeighbour', { dev: VX, ip: '10.32.0.12', mac: m(2) }),
      call('setNeighbour', { dev: VX, ip: '10.32.0.14', mac: m(4) }),
    ].sort());
  });

  test('the same plan again changes nothing', async () => {
    const nl = await bridge();
    await applyPlan(nl, net, first, recordingLog().log);
    const mark = nl.calls.length;
    expect(await applyPlan(nl, net, first, recordingLog().log)).toBe(0);
    expect(nl.calls.length).toBe(mark);
    expect(await state(nl)).toEqual(firstState);
  });

  test('a second plan changes only the difference, and the ports\' own entries stay', async () => {
    const nl = await bridge();
    await applyPlan(nl, net, first, recordingLog().log);
    const mark = nl.calls.length;
    expect(await applyPlan(nl, net, second, recordingLog().log)).toBe(10);
    expect(callsSince(nl, mark)).toEqual([
      call('setFdb', { dev: TAP, mac: m(2), master: true }), // vxlan → tap: one move, no delete
      call('setFdb', { dev: VX, mac: m(5), master: true }),
      call('deleteFdb', { dev: VX, mac: m(4), master: true }),
      call('setFdb', { dev: VX, mac: m(1), dst: IP_C }), // another peer: replaced in place
      call('setFdb', { dev: VX, mac: m(5), dst: IP_C }),
      call('deleteFdb', { dev: VX, mac: m(2), dst: IP_C }),
      call('deleteFdb', { dev: VX, mac: m(4), dst: IP_B }),
      call('deleteFdb', { dev: VX, mac: ZERO, dst: IP_B }),
      call('setNeighbour', { dev: VX, ip: '10.32.0.14', mac: m(5) }),
      call('deleteNeighbour', { dev: VX, ip: '10.32.0.12' }),
    ].sort());
    expect(await state(nl)).toEqual({
      vxlanPort: [m(1), m(5)],
      tapPort: [m(2), m(3)],
      own: [VX_OWN, TAP_OWN],
      vxlan: [`${ZERO} ${IP_C}`, `${m(1)} ${IP_C}`, `${m(5)} ${IP_C}`],
      neighbours: [`vx 10.32.0.11 ${m(1)}`, `vx 10.32.0.14 ${m(5)}`],
    });
    expect(await applyPlan(nl, net, second, recordingLog().log)).toBe(0);
  });

  test('and back: an empty plan removes everything weft made, nothing else', async () => {
    const nl = await bridge();
    await applyPlan(nl, net, first, recordingLog().log);
    expect(await applyPlan(nl, net, plan({}), recordingLog().log)).toBe(12);
    expect(await state(nl)).toEqual({ vxlanPort: [], tapPort: [], own: [VX_OWN, TAP_OWN], vxlan: [], neighbours: [] });
  });

  test('entries it did not make are left alone: other ports, other devices\' neighbours', async () => {
    const nl = await bridge();
    await nl.createVeth({ name: 'wfhe1', peerName: 'wfce1', mac: '02:00:00:00:0e:01' });
    await nl.setLink('wfhe1', { master: BR, up: true });
    await nl.setFdb({ dev: 'wfhe1', mac: m(9), master: true });
    await nl.createBridge({ name: 'other' });
    await nl.setNeighbour({ dev: 'other', ip: '10.32.0.12', mac: m(7) });
    await applyPlan(nl, net, first, recordingLog().log);
    await applyPlan(nl, net, plan({}), recordingLog().log);
    const fdb = await nl.listFdb('wfhe1');
    expect(fdb.filter((f) => f.state === 0x40).map((f) => f.mac)).toEqual([m(9)]);
    expect((await nl.listNeighbours('other')).map((n) => n.mac)).toEqual([m(7)]);
  });

  test('a network without a VXLAN device touches only the TAP port', async () => {
    const nl = await bridge();
    await applyPlan(nl, net, first, recordingLog().log);
    const mark = nl.calls.length;
    // the same bridge seen by a host with the fast path off: a stray 'vxlan' port in the plan is skipped
    const p = plan({ ports: new Map([[m(1), 'vxlan'], [m(6), 'tap']]), vxlanMacs: new Map([[m(1), IP_B]]), flood: [IP_B] });
    expect(await applyPlan(nl, noVxlanNet, p, recordingLog().log)).toBe(2);
    expect(callsSince(nl, mark)).toEqual([
      call('deleteFdb', { dev: TAP, mac: m(3), master: true }),
      call('setFdb', { dev: TAP, mac: m(6), master: true }),
    ].sort());
    expect(await state(nl)).toEqual({ ...firstState, tapPort: [m(6)] });
  });

  test('without any VXLAN device at all', async () => {
    const nl = await bridge({ vxlan: false });
    const p = plan({ ports: new Map([[m(2), 'tap'], [m(3), 'tap']]) });
    expect(await applyPlan(nl, noVxlanNet, p, recordingLog().log)).toBe(2);
    expect((await state(nl)).tapPort).toEqual([m(2), m(3)]);
    expect(await applyPlan(nl, noVxlanNet, p, recordingLog().log)).toBe(0);
  });

  test('a failing call is logged, not counted, and the rest still applied; the next pass retries it', async () => {
    const nl = await bridge();
    const { log, warnings } = recordingLog();
    nl.failNext('setNeighbour', 'EBUSY');
    nl.failNext('addFdb', 'EPERM');
    expect(await applyPlan(nl, net, first, log)).toBe(10);
    expect(warnings).toEqual([
      { obj: expect.objectContaining({ network: 'n1n1n1n1n1n1', what: `flood to ${IP_B}` }), msg: 'could not program the data plane' },
      { obj: expect.objectContaining({ network: 'n1n1n1n1n1n1', what: 'proxy ARP 10.32.0.11' }), msg: 'could not program the data plane' },
    ]);
    expect((warnings[0]!.obj.err as { code?: string }).code).toBe('EPERM');
    const s = await state(nl);
    expect(s.vxlan).toEqual(firstState.vxlan.filter((e) => e !== `${ZERO} ${IP_B}`));
    expect(s.neighbours).toEqual(firstState.neighbours.slice(1));
    expect([s.vxlanPort, s.tapPort]).toEqual([firstState.vxlanPort, firstState.tapPort]);
    expect(await applyPlan(nl, net, first, log)).toBe(2);
    expect(await state(nl)).toEqual(firstState);
    expect(warnings).toHaveLength(2);
  });

  test('failures of removals are logged too', async () => {
    const nl = await bridge();
    await applyPlan(nl, net, first, recordingLog().log);
    const { log, warnings } = recordingLog();
    nl.failNext('deleteFdb', 'EBUSY');
    nl.failNext('deleteNeighbour', 'EBUSY');
    expect(await applyPlan(nl, net, second, log)).toBe(8);
    expect(warnings.map((w) => w.obj.what)).toEqual([`remove bridge entry ${m(4)}`, 'remove proxy ARP 10.32.0.12']);
    expect(await applyPlan(nl, net, second, log)).toBe(2);
  });

  test('a call the kernel refuses is reported and the pass goes on', async () => {
    const nl = await bridge();
    const { log, warnings } = recordingLog();
    // the fake (like the kernel) refuses a bridge entry for the all-zero MAC
    const p = plan({ ports: new Map([[ZERO, 'tap'], [m(3), 'tap']]) });
    expect(await applyPlan(nl, net, p, log)).toBe(1);
    expect(warnings.map((w) => w.obj.what)).toEqual([`bridge entry ${ZERO} on ${TAP}`]);
  });

  test('a device that is gone: the read fails and applyPlan rejects', async () => {
    const nl = await bridge();
    await nl.deleteLink(TAP);
    await expect(applyPlan(nl, net, first, recordingLog().log)).rejects.toMatchObject({ code: 'ENODEV' });
  });
});
