import { daemonArgs } from '../../../src/cli/commands/launch';
import { buildConfig } from '../../../src/daemon/config';

test('the background daemon gets the options it was launched with', () => {
  const o = { stateDir: '/tmp/s', ipallocRange: '10.0.0.0/8', mtu: '1400', defaultNetwork: false, logLevel: 'debug' };
  const args = daemonArgs(o);
  expect(args).toEqual(['--state-dir', '/tmp/s', '--ipalloc-range', '10.0.0.0/8', '--mtu', '1400', '--log-level', 'debug', '--no-default-network']);
  expect(daemonArgs({})).toEqual([]);
  // and they mean the same configuration
  expect(buildConfig(o, {})).toEqual(buildConfig({ ...o }, {}));
});

test('--driver and --remove-on-signal reach the background daemon', () => {
  expect(daemonArgs({ driver: 'weft:latest', removeOnSignal: true, peers: ['192.168.1.2'] })).toEqual(['--driver', 'weft:latest', '--remove-on-signal', '192.168.1.2']);
});

test('--no-fastdp and --no-bpf reach the background daemon, and turn the config\'s switches off', () => {
  const o = { fastdp: false, bpf: false };
  expect(daemonArgs(o)).toEqual(['--no-fastdp', '--no-bpf']);
  expect(buildConfig(o, {})).toMatchObject({ fastdp: false, bpf: false });
  expect(buildConfig({}, {})).toMatchObject({ fastdp: true, bpf: true });
});
