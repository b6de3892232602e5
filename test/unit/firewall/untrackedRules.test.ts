/** Which lines of `iptables -t raw -S PREROUTING` are weft's untracked rules for a bridge. */
import { untrackedRulesOn } from '../../../src/firewall/iptables';

const listing = [
  '-P PREROUTING ACCEPT',
  '-A PREROUTING -d 10.40.0.0/24 -i weft-a -m addrtype ! --dst-type LOCAL -j NOTRACK',
  '-A PREROUTING -d 10.41.0.0/24 -i weft-a -m addrtype ! --dst-type LOCAL -j CT --notrack',
  '-A PREROUTING -d 10.42.0.0/24 -i weft-ab -m addrtype ! --dst-type LOCAL -j NOTRACK',
  '-A PREROUTING -i weft-a -j ACCEPT',
  '-A PREROUTING -i weft-a -j CT --zone 3',
  '-A OUTPUT -o weft-a -j NOTRACK',
  '-A PREROUTING -o weft-a -j NOTRACK',
  '',
].join('\n');

test('both spellings of the target, on that bridge only, as specs for -D', () => {
  expect(untrackedRulesOn(listing, 'weft-a')).toEqual([
    ['PREROUTING', '-d', '10.40.0.0/24', '-i', 'weft-a', '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'NOTRACK'],
    ['PREROUTING', '-d', '10.41.0.0/24', '-i', 'weft-a', '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'CT', '--notrack'],
  ]);
  expect(untrackedRulesOn(listing, 'weft-ab')).toHaveLength(1);
  expect(untrackedRulesOn(listing, 'weft-b')).toEqual([]);
  expect(untrackedRulesOn('', 'weft-a')).toEqual([]);
});
