/**
 * The compose example (examples/compose/docker-compose.yml) with Debian's
 * docker-compose 1.29 against a lab host's real dockerd and weft: `up` makes a
 * weft network (weft's driver and IPAM) and two containers, the web container
 * reaches the database over it at its fixed address, and `down` removes the
 * containers, the network and weft's bridge for it.
 */
import { docker, labDown, labUp, linkNames, resetWeft, sh, shOk, waitFor } from './lab';

const H = 'h1';
const PROJECT = 'weftcompose';
const NETWORK = `${PROJECT}_app`;
const SUBNET = '10.40.7.0/24';
const DB_IP = '10.40.7.10';
// docker-compose (docker-py) inside the host talks to the host's own dockerd at
// its default socket; set explicitly so a DOCKER_HOST of the caller cannot leak in
const ENV = { DOCKER_HOST: 'unix:///var/run/docker.sock' };

function compose(args: string, timeoutMs = 120_000): Promise<string> {
  return shOk(H, `docker-compose -f examples/compose/docker-compose.yml -p ${PROJECT} ${args}`, { env: ENV, timeoutMs });
}

interface StatusView {
  networks: Array<{ id: string; bridge: string; subnet: string }>;
  endpoints: Array<{ networkId: string; address: string }>;
}
async function weftStatus(): Promise<StatusView> {
  return JSON.parse(await shOk(H, 'bin/weft status --json')) as StatusView;
}
const weftBridges = async (): Promise<string[]> => (await linkNames(H, 'bridges')).filter((n) => n.startsWith('weft-'));

beforeAll(async () => {
  await labUp(1);
  // the lab's hosts see the machine's own /usr/bin
  if ((await sh(H, 'command -v docker-compose')).code !== 0) {
    throw new Error('docker-compose is not installed (Debian package docker-compose, 1.29); scripts/setup installs it');
  }
  await resetWeft(H);
  await shOk(H, 'bin/weft launch');
}, 600_000);

afterAll(async () => {
  await sh(H, `docker-compose -f examples/compose/docker-compose.yml -p ${PROJECT} down -t 1`, { env: ENV });
  await resetWeft(H);
  await labDown();
}, 300_000);

test('docker-compose up: a weft network, the db at its fixed address, web reaches it over weft; down removes it all', async () => {
  const bridgesBefore = await weftBridges();
  await compose('up -d');

  // the network is weft's, with weft's IPAM and the file's subnet
  const net = (await docker(H, ['network', 'inspect', '-f', '{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}', NETWORK])).trim();
  expect(net).toBe(`weft weft ${SUBNET}`);
  const netId = (await docker(H, ['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
  const ipOf = async (svc: string): Promise<string> =>
    (await docker(H, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, `${PROJECT}_${svc}_1`])).trim();
  expect(await ipOf('db')).toBe(DB_IP);
  const webIp = await ipOf('web');
  expect(webIp.startsWith('10.40.7.')).toBe(true);

  // weft made the network and both endpoints (a bridge of its own, addresses from its IPAM)
  const s = await weftStatus();
  const mine = s.networks.find((n) => n.id === netId);
  expect(mine?.subnet).toBe(SUBNET);
  expect(s.endpoints.filter((e) => e.networkId === netId).map((e) => e.address.split('/')[0]).sort()).toEqual([DB_IP, webIp].sort());
  expect(await weftBridges()).toContain(mine!.bridge);

  // web → db over the weft network, directly and through web's page, which asks the db
  await waitFor('web answers', 20_000, async () => (await sh(H, `docker-compose -f examples/compose/docker-compose.yml -p ${PROJECT} exec -T web wget -qO- http://127.0.0.1/cgi-bin/app`, { env: ENV })).code === 0);
  expect((await compose(`exec -T web wget -qO- http://${DB_IP}/`)).trim()).toBe('42 rows');
  expect((await compose('exec -T web wget -qO- http://127.0.0.1/cgi-bin/app')).trim()).toBe('web on web, db says: 42 rows');
  // and the db saw web's own weft address (httpd -v logs each client)
  expect(await compose('logs --no-color db')).toContain(`[::ffff:${webIp}]`);
  // Docker's embedded DNS works on the weft network: the db finds web by service name
  expect((await compose('exec -T db wget -qO- http://web/cgi-bin/app')).trim()).toBe('web on web, db says: 42 rows');

  await compose('down');
  expect((await docker(H, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`])).trim()).toBe('');
  expect((await docker(H, ['network', 'ls', '-q', '--filter', `name=${NETWORK}`])).trim()).toBe('');
  const after = await weftStatus();
  expect(after.networks.find((n) => n.id === netId)).toBeUndefined();
  expect(after.endpoints.filter((e) => e.networkId === netId)).toEqual([]);
  expect((await weftBridges()).sort()).toEqual(bridgesBefore.sort());
}, 240_000);
