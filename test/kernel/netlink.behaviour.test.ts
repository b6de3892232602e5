/** The shared Netlink behaviour suite on the real kernel (run inside `unshare --net`), with a second namespace pinned for the test. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentNetns, ensureNetns, removeNetns } from '../../src/netlink/netns';
import { RtNetlink } from '../../src/netlink/rtnetlink';
import { describeNetlinkBehaviour } from './netlinkBehaviour';
import { ipProbe } from './probe';

jest.setTimeout(60_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-behaviour-'));
const pin = path.join(dir, 'there');
afterAll(() => {
  removeNetns(pin);
  fs.rmSync(dir, { recursive: true, force: true });
});

describeNetlinkBehaviour('RtNetlink (kernel)', 'kb', async () => {
  const there = ensureNetns(pin);
  return { nl: await RtNetlink.open(), probe: ipProbe, here: currentNetns(), there: { nl: await RtNetlink.openIn(there), ref: there } };
});
