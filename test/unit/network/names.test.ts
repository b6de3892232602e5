import { parseCidr, parseIp } from '../../../src/addr/cidr';
import { bridgeName, containerVethName, gatewayMac, hostVethName, isWeftDevice, macForIp, normalizeMac } from '../../../src/network/names';

const id = '2e01c0ffee2e01c0ffee2e01c0ffee2e01c0ffee2e01c0ffee2e01c0ffee1234';

test('device names fit IFNAMSIZ and are recognisable', () => {
  for (const n of [bridgeName(id), hostVethName(id), containerVethName(id)]) {
    expect(n.length).toBeLessThanOrEqual(15);
    expect(isWeftDevice(n)).toBe(true);
  }
  expect(bridgeName(id)).toBe('weft-2e01c0ffee');
  expect(hostVethName(id)).toBe('wfh2e01c0ffee2e');
  expect(containerVethName(id)).toBe('wfc2e01c0ffee2e');
  expect(isWeftDevice('eth0')).toBe(false);
  expect(isWeftDevice('docker0')).toBe(false);
});

test('gateway MAC is the same for the same subnet, unicast and locally administered', () => {
  const m = gatewayMac(parseCidr('10.32.0.0/12'));
  expect(m).toBe('7a:0c:0a:20:00:00');
  expect(gatewayMac(parseCidr('10.32.0.0/12'))).toBe(m);
  expect(gatewayMac(parseCidr('10.32.0.0/16'))).not.toBe(m);
  expect(parseInt(m.slice(0, 2), 16) & 0b11).toBe(0b10);
});

test('MACs', () => {
  expect(macForIp(parseIp('10.40.0.2'))).toBe('02:42:0a:28:00:02');
  expect(normalizeMac('02:42:AA:bb:cc:dd')).toBe('02:42:aa:bb:cc:dd');
  expect(normalizeMac('02-42-aa-bb-cc-dd')).toBe('02:42:aa:bb:cc:dd');
  for (const bad of ['', '02:42:aa:bb:cc', '02:42:aa:bb:cc:dd:ee', 'zz:42:aa:bb:cc:dd', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']) {
    expect(normalizeMac(bad)).toBeUndefined();
  }
});
