import { type Departure, departures, KEEP_DEPARTURES, remember, rememberedAddress, validateDepartures } from '../../../src/network/departures';

const S = '10.32.0.0/16';
const e = (id: string, ip: string, mac: string) => ({ id, subnet: S, ip, mac });
const d = (mac: string, ip: string, at: number, subnet = S): Departure => ({ mac, ip, subnet, at });

describe('departures', () => {
  test('endpoints gone between two publications', () => {
    expect(departures([e('a', '10.32.0.2', '02:00:00:00:00:02'), e('b', '10.32.0.3', '02:00:00:00:00:03')], [e('b', '10.32.0.3', '02:00:00:00:00:03')], 7))
      .toEqual([d('02:00:00:00:00:02', '10.32.0.2', 7)]);
    expect(departures([], [e('a', '10.32.0.2', '02:00:00:00:00:02')], 7)).toEqual([]);
  });

  test('remember keeps the newest per MAC and subnet, capped', () => {
    const list = remember([d('02:00:00:00:00:02', '10.32.0.2', 1)], [d('02:00:00:00:00:02', '10.32.0.9', 5), d('02:00:00:00:00:02', '10.33.0.9', 4, '10.33.0.0/16')]);
    expect(list).toEqual([d('02:00:00:00:00:02', '10.32.0.9', 5), d('02:00:00:00:00:02', '10.33.0.9', 4, '10.33.0.0/16')]);
    const many = Array.from({ length: 300 }, (_, i) => d(`02:00:00:00:01:${(i % 256).toString(16).padStart(2, '0')}`, '10.32.0.2', i, i < 256 ? S : '10.33.0.0/16'));
    const kept = remember([], many);
    expect(kept).toHaveLength(KEEP_DEPARTURES);
    expect(kept[0].at).toBe(299);
  });

  test('the newest address of a MAC anywhere, unless a live endpoint holds it', () => {
    const hosts = [[d('02:00:00:00:00:02', '10.32.0.2', 1)], [d('02:00:00:00:00:02', '10.32.0.7', 3)]];
    expect(rememberedAddress(hosts, [], '02:00:00:00:00:02', S)).toBe('10.32.0.7');
    expect(rememberedAddress(hosts, [{ ...e('x', '10.32.0.7', '02:00:00:00:00:99'), host: 'h' }], '02:00:00:00:00:02', S)).toBeUndefined();
    expect(rememberedAddress(hosts, [], '02:00:00:00:00:02', '10.33.0.0/16')).toBeUndefined();
    expect(rememberedAddress(hosts, [], '02:00:00:00:00:03', S)).toBeUndefined();
  });

  test('validation refuses anything malformed', () => {
    expect(validateDepartures([d('02:00:00:00:00:02', '10.32.0.2', 1)])).toEqual([d('02:00:00:00:00:02', '10.32.0.2', 1)]);
    for (const bad of [null, {}, [{}], [{ ...d('02:00:00:00:00:02', '10.32.0.2', 1), mac: 'x' }], [{ ...d('02:00:00:00:00:02', '10.32.0.2', 1), at: NaN }],
      [{ ...d('02:00:00:00:00:02', '10.32.0.2', 1), subnet: '10.32.0.0' }], [{ ...d('02:00:00:00:00:02', '10.32.0.2', 1), ip: 5 }], new Array(KEEP_DEPARTURES + 1).fill(d('02:00:00:00:00:02', '10.32.0.2', 1))]) {
      expect(() => validateDepartures(bad)).toThrow();
    }
  });
});
