/** The shared Netlink behaviour suite on the in-memory fake. */
import { FakeNetlink } from '../../../src/netlink/fake';
import { describeNetlinkBehaviour } from '../../kernel/netlinkBehaviour';
import { netlinkProbe } from '../../kernel/probe';

describeNetlinkBehaviour('FakeNetlink', 'fb', async () => {
  const nl = new FakeNetlink();
  const other = new FakeNetlink();
  return { nl, probe: netlinkProbe(nl), here: nl.ref('here'), there: { nl: other, ref: other.ref('there') } };
});
