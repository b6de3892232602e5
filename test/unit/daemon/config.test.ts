import { buildConfig, ConfigError, hostPort } from '../../../src/daemon/config';
import { formatCidr } from '../../../src/addr/cidr';

test('defaults', () => {
  const c = buildConfig({}, {});
  expect(c.name).toBe('weft');
  expect(c.socketPath).toBe('/run/docker/plugins/weft.sock');
  expect(c.stateDir).toBe('/var/lib/weft');
  expect(c.pidFile).toBe('/run/weft/weft.pid');
  expect(c.logFile).toBe('/var/lib/weft/weft.log');
  expect(formatCidr(c.range)).toBe('10.32.0.0/12');
  expect(formatCidr(c.defaultSubnet)).toBe('10.32.0.0/16');
  expect(c.statusAddr).toEqual({ host: '127.0.0.1', port: 6784 });
  expect(c.mtu).toBeUndefined();
  expect(c.dockerHost).toBeUndefined();
  expect(c.defaultNetwork).toBe(true);
});

test('values', () => {
  const c = buildConfig({ name: 'wf2', ipallocRange: '10.0.0.0/8', mtu: '1400', logLevel: 'debug', stateDir: '/tmp/x' }, { DOCKER_HOST: 'unix:///run/d.sock' });
  expect(c.socketPath).toBe('/run/docker/plugins/wf2.sock');
  expect(formatCidr(c.defaultSubnet)).toBe('10.0.0.0/16');
  expect(c.mtu).toBe(1400);
  expect(c.logFile).toBe('/tmp/x/weft.log');
  expect(c.dockerHost).toBe('unix:///run/d.sock');
  expect(formatCidr(buildConfig({ ipallocRange: '10.9.0.0/24' }, {}).defaultSubnet)).toBe('10.9.0.0/24');
});

test.each([
  [{ ipallocRange: '10.32.0.1/12' }, /--ipalloc-range: .*did you mean 10.32.0.0\/12/],
  [{ ipallocRange: 'nope' }, /--ipalloc-range/],
  [{ ipallocRange: '10.0.0.0/31' }, /too small/],
  [{ ipallocDefaultSubnet: '10.64.0.0/16' }, /not inside --ipalloc-range/],
  [{ mtu: '12' }, /--mtu "12"/],
  [{ mtu: '1500x' }, /--mtu/],
  [{ logLevel: 'loud' }, /--log-level "loud": one of/],
  [{ statusAddr: 'localhost' }, /--status-addr/],
  [{ statusAddr: '127.0.0.1:99999' }, /--status-addr/],
  [{ name: 'Weft!' }, /--name/],
  [{ driver: 'weft latest' }, /--driver/],
  [{ driver: 'Weft:latest' }, /--driver/],
])('%j is refused in one line', (o, msg) => {
  let err: unknown;
  try {
    buildConfig(o, {});
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(msg);
  expect((err as Error).message).not.toContain('\n');
});

test('hostPort', () => {
  expect(hostPort('[::1]:6784')).toEqual({ host: '::1', port: 6784 });
  expect(hostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
});

test('mesh options', () => {
  const c = buildConfig({ peers: ['192.168.91.1', '192.168.91.2:7000'], nickname: 'h9' }, { WEFT_PASSWORD: 'long enough secret' });
  expect(c.peers).toEqual(['192.168.91.1:6783', '192.168.91.2:7000']);
  expect(c.port).toBe(6783);
  expect(c.password).toBe('long enough secret');
  expect(c.nickname).toBe('h9');
  expect(buildConfig({ port: '7001', peers: ['10.0.0.1'] }, {}).peers).toEqual(['10.0.0.1:7001']);
  expect(buildConfig({}, {}).password).toBeUndefined();
  for (const [o, msg] of [
    [{ peers: ['h1'] }, /peer "h1": expected an IPv4 address/],
    [{ peers: ['10.0.0.300'] }, /peer/],
    [{ port: '0' }, /--port/],
    [{ password: 'short' }, /at least 8/],
    [{ advertise: 'x' }, /expected an IPv4/],
  ] as const) {
    expect(() => buildConfig(o as Record<string, unknown>, {})).toThrow(msg);
  }
});

test('--driver: Docker\'s name for the driver (a managed plugin\'s reference); --remove-on-signal', () => {
  const c = buildConfig({}, {});
  expect(c.driver).toBe('weft');
  expect(c.removeOnSignal).toBe(false);
  expect(buildConfig({ name: 'wf2' }, {}).driver).toBe('wf2');
  const p = buildConfig({ driver: 'weft:latest', removeOnSignal: true }, {});
  expect(p.driver).toBe('weft:latest');
  expect(p.socketPath).toBe('/run/docker/plugins/weft.sock');
  expect(p.removeOnSignal).toBe(true);
  expect(buildConfig({ driver: 'registry.example:5000/team/weft:0.1.0' }, {}).driver).toBe('registry.example:5000/team/weft:0.1.0');
});

test('--bridges-netns: a namespace of weft\'s own at /run/netns/weft unless told a path or host', () => {
  expect(buildConfig({}, {}).bridgesNetns).toBe('/run/netns/weft');
  expect(buildConfig({ bridgesNetns: '/run/weft/bridges' }, {}).bridgesNetns).toBe('/run/weft/bridges');
  expect(buildConfig({ bridgesNetns: 'host' }, {}).bridgesNetns).toBeUndefined();
  for (const bad of ['weft', 'run/netns/weft', '/run/netns/', '/run/../netns/weft', '']) {
    expect(() => buildConfig({ bridgesNetns: bad }, {})).toThrow(ConfigError);
  }
  expect(() => buildConfig({ bridgesNetns: 'x' }, {})).toThrow('--bridges-netns "x": an absolute path to pin the namespace at, or host');
});
