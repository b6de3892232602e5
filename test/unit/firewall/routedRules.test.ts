/** Which lines of `iptables -S FORWARD` are weft's rules for routed subnets. */
import { routedSubnetsIn } from '../../../src/firewall/iptables';

test('weft\'s comment, the same subnet both ways, ACCEPT: nothing else', () => {
  const listing = [
    '-P FORWARD DROP',
    '-A FORWARD -s 10.44.0.0/16 -d 10.44.0.0/16 -m comment --comment weft-routed -j ACCEPT',
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -s 10.45.0.0/16 -d 10.45.0.0/16 -j ACCEPT',
    '-A FORWARD -s 10.46.0.0/16 -d 10.47.0.0/16 -m comment --comment weft-routed -j ACCEPT',
    '-A FORWARD -s 10.48.0.0/16 -d 10.48.0.0/16 -m comment --comment other -j ACCEPT',
    '-A FORWARD -s 10.49.0.0/24 -d 10.49.0.0/24 -m comment --comment weft-routed -j DROP',
    '-A FORWARD -i weft-a -o weft-a -j ACCEPT',
    '  -A FORWARD -s 10.50.0.0/24 -d 10.50.0.0/24 -m comment --comment weft-routed -j ACCEPT  ',
    '',
  ].join('\n');
  expect(routedSubnetsIn(listing)).toEqual(['10.44.0.0/16', '10.50.0.0/24']);
  expect(routedSubnetsIn('')).toEqual([]);
});
