/** What RtNetlink sends for routes, over a recording transport: message type, flags, payload. */
import { cstr, encodeAttr } from '../../../src/netlink/codec/attributes';
import {
  IFLA_IFNAME, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTM_DELROUTE, RTM_GETLINK, RTM_GETROUTE, RTM_NEWLINK, RTM_NEWROUTE,
} from '../../../src/netlink/codec/constants';
import { decodeLink, encodeIfinfomsg } from '../../../src/netlink/codec/link';
import { NetlinkError } from '../../../src/netlink/errors';
import { RtNetlink } from '../../../src/netlink/rtnetlink';
import type { ReplyMessage, RtnlTransport } from '../../../src/netlink/socket';
import { hex } from './hex';

interface Sent { type: number; flags: number; payload: Buffer }

const TABLE_MAIN = '08 00 0f 00 fe 00 00 00'; // RTA_TABLE 254
const DST_88 = '08 00 01 00 0a 58 00 00'; // RTA_DST 10.88.0.0
const OIF_4 = '08 00 04 00 04 00 00 00'; // RTA_OIF 4

/** answers GETLINK from `links` (name -> ifindex, ENODEV otherwise) and a route dump with `routes`; records the rest */
class Recorder implements RtnlTransport {
  readonly sent: Sent[] = [];
  constructor(private readonly links: Record<string, number> = {}, private readonly routes: Buffer[] = []) {}

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async request(op: string, type: number, flags: number, payload: Buffer): Promise<ReplyMessage[]> {
    if (type !== RTM_GETLINK) {
      this.sent.push({ type, flags, payload });
      return [];
    }
    const { name } = decodeLink(payload);
    const index = this.links[name];
    if (index === undefined) throw NetlinkError.of('ENODEV', op);
    return [{ type: RTM_NEWLINK, flags: 0, payload: Buffer.concat([encodeIfinfomsg({ index }), encodeAttr(IFLA_IFNAME, cstr(name))]) }];
  }

  async dump(_op: string, type: number): Promise<ReplyMessage[]> {
    return type === RTM_GETROUTE ? this.routes.map((payload) => ({ type: RTM_NEWROUTE, flags: 0x2, payload })) : [];
  }
}

describe('RtNetlink routes', () => {
  test('replaceRoute: RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE, protocol and oif in the payload', async () => {
    const t = new Recorder({ d0: 4 });
    await new RtNetlink(t).replaceRoute({ dst: '10.1.0.0/16', gateway: '10.77.0.2', dev: 'd0', protocol: 87 });
    expect(t.sent).toEqual([{
      type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_REPLACE,
      payload: hex('02 10 00 00 fe 57 00 01 00 00 00 00' + TABLE_MAIN + '08 00 01 00 0a 01 00 00' + '08 00 05 00 0a 4d 00 02' + OIF_4),
    }]);
    expect(NLM_F_CREATE | NLM_F_REPLACE).toBe(0x500);
  });

  test('addRoute is CREATE|EXCL; deleteRoute sends no flags, no protocol, the type when given', async () => {
    const t = new Recorder();
    const nl = new RtNetlink(t);
    await nl.addRoute({ dst: '10.88.0.0/16', type: 'unreachable', protocol: 87 });
    await nl.deleteRoute({ dst: '10.88.0.0/16', type: 'unreachable', protocol: 87 });
    expect(t.sent).toEqual([
      { type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, payload: hex('02 10 00 00 fe 57 00 07 00 00 00 00' + TABLE_MAIN + DST_88) },
      { type: RTM_DELROUTE, flags: 0, payload: hex('02 10 00 00 fe 00 ff 07 00 00 00 00' + TABLE_MAIN + DST_88) },
    ]);
  });

  test('an unreachable route with a gateway is EINVAL naming the operation, and nothing is sent', async () => {
    const t = new Recorder();
    const e = await new RtNetlink(t).replaceRoute({ dst: '10.88.0.0/16', type: 'unreachable', gateway: '10.77.0.2' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).message).toBe(
      'replace route unreachable 10.88.0.0/16 via 10.77.0.2: EINVAL (an unreachable route takes no gateway or device: 10.88.0.0/16)',
    );
    expect(t.sent).toEqual([]);
  });

  test('listRoutes: the main table\'s unicast and unreachable routes, with protocol and type; other tables, types left out', async () => {
    const t = new Recorder({}, [
      hex('02 18 00 00 fe 02 fd 01 00 00 00 00' + TABLE_MAIN + '08 00 01 00 0a 4d 00 00' + OIF_4), // connected, proto kernel
      hex('02 10 00 00 fe 57 00 01 00 00 00 00' + TABLE_MAIN + '08 00 01 00 0a 01 00 00' + '08 00 05 00 0a 4d 00 02' + OIF_4),
      hex('02 10 00 00 fe 57 00 07 00 00 00 00' + TABLE_MAIN + DST_88), // unreachable
      hex('02 10 00 00 fe 03 00 06 00 00 00 00' + TABLE_MAIN + '08 00 01 00 0a 59 00 00'), // blackhole
      hex('02 20 00 00 ff 02 fe 02 00 00 00 00' + '08 00 0f 00 ff 00 00 00' + '08 00 01 00 0a 4d 00 01' + OIF_4), // local table
    ]);
    expect(await new RtNetlink(t).listRoutes()).toEqual([
      { dst: '10.77.0.0/24', ifindex: 4, table: 254, protocol: 2, type: 'unicast' },
      { dst: '10.1.0.0/16', gateway: '10.77.0.2', ifindex: 4, table: 254, protocol: 87, type: 'unicast' },
      { dst: '10.88.0.0/16', table: 254, protocol: 87, type: 'unreachable' },
    ]);
  });
});
