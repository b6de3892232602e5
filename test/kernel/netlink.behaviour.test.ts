/** The shared Netlink behaviour suite on the real kernel (run inside `unshare --net`). */
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { describeNetlinkBehaviour } from './netlinkBehaviour';
import { ipProbe } from './probe';

jest.setTimeout(60_000);

describeNetlinkBehaviour('RtNetlink (kernel)', 'kb', async () => ({ nl: await RtNetlink.open(), probe: ipProbe }));
