import { parseCidr, parseIp } from '../../../src/addr/cidr';
import { ChannelId } from '../../../src/mesh/gossip/channel';
import { SegmentChannel } from '../../../src/mesh/gossip/segments';
import type { Departure } from '../../../src/network/departures';
import { EndpointPublisher, PUBLISH_DELAY_MS } from '../../../src/network/endpointPublisher';
import type { EndpointEntry } from '../../../src/network/endpointTable';
import { FakeScheduler } from '../../../src/util/scheduler';

const S = '10.32.0.0/16';
const e = (id: string, ip: string, mac: string): EndpointEntry => ({ id, subnet: S, ip, mac });

function setup() {
  const clock = new FakeScheduler();
  const table = new SegmentChannel<EndpointEntry[]>(ChannelId.Endpoints, 'me', { validate: (d) => d as EndpointEntry[] });
  const departed = new SegmentChannel<Departure[]>(ChannelId.Departed, 'me', { validate: (d) => d as Departure[] });
  let local: EndpointEntry[] = [];
  const published: string[] = [];
  table.watch(() => published.push('table'));
  departed.watch(() => published.push('departed'));
  const p = new EndpointPublisher('me', table, departed, () => local, clock);
  return { clock, table, departed, p, published, set: (l: EndpointEntry[]) => (local = l) };
}

test('a burst of changes is one publication, after the delay', () => {
  const { clock, table, p, published, set } = setup();
  set([e('a', '10.32.0.2', '02:00:00:00:00:02')]);
  p.schedule();
  set([e('a', '10.32.0.2', '02:00:00:00:00:02'), e('b', '10.32.0.3', '02:00:00:00:00:03')]);
  p.schedule();
  clock.advance(PUBLISH_DELAY_MS - 1);
  expect(published).toEqual([]);
  clock.advance(1);
  expect(published).toEqual(['table']);
  expect(table.get('me')?.data.map((x) => x.id)).toEqual(['a', 'b']);
});

test('nothing changed: nothing published; cancel drops a pending publication', () => {
  const { clock, p, published, set } = setup();
  p.schedule();
  clock.advance(PUBLISH_DELAY_MS);
  expect(published).toEqual([]);
  set([e('a', '10.32.0.2', '02:00:00:00:00:02')]);
  p.schedule();
  p.cancel();
  clock.advance(PUBLISH_DELAY_MS * 2);
  expect(published).toEqual([]);
});

test('an endpoint that leaves becomes a departure, and its MAC gets its address back unless it is taken', () => {
  const { clock, departed, p, set } = setup();
  set([e('a', '10.32.0.2', '02:00:00:00:00:02')]);
  p.publishNow();
  expect(p.remembered('02:00:00:00:00:02', parseCidr(S))).toBeUndefined();
  clock.advance(1000);
  set([]);
  p.publishNow();
  expect(departed.get('me')?.data).toEqual([{ mac: '02:00:00:00:00:02', ip: '10.32.0.2', subnet: S, at: clock.now() }]);
  expect(p.remembered('02:00:00:00:00:02', parseCidr(S))).toBe(parseIp('10.32.0.2'));
  expect(p.remembered('02:00:00:00:00:02', parseCidr('10.33.0.0/16'))).toBeUndefined();
  // another container holds that address now: IPAM allocates as usual
  set([e('c', '10.32.0.2', '02:00:00:00:00:09')]);
  p.publishNow();
  expect(p.remembered('02:00:00:00:00:02', parseCidr(S))).toBeUndefined();
});
