/**
 * The peer mesh across three lab hosts with real dockerd: peers find each other
 * from one named peer, and a peer with the wrong password is refused.
 */
import { cut, heal, labDown, labUp, resetWeft as reset, shOk, waitFor } from './lab';

const HOSTS = ['h1', 'h2', 'h3'];

interface PeerView { id: string; nickname: string; addr: string; state: string }
async function peers(host: string): Promise<PeerView[]> {
  const s = JSON.parse(await shOk(host, 'bin/weft status --json')) as { mesh: { peers: PeerView[] } };
  return s.mesh.peers;
}

beforeAll(async () => {
  await labUp(3);
  for (const h of HOSTS) await reset(h);
}, 600_000);

afterAll(async () => {
  for (const h of HOSTS) await reset(h);
  await labDown();
}, 300_000);

test('launch on h1, then h2 and h3 naming h1: all three list each other live within 5 s', async () => {
  await shOk('h1', 'WEFT_PASSWORD=s3cret-mesh bin/weft launch');
  await shOk('h2', 'WEFT_PASSWORD=s3cret-mesh bin/weft launch 192.168.91.1');
  await shOk('h3', 'WEFT_PASSWORD=s3cret-mesh bin/weft launch 192.168.91.1');
  const took = await waitFor('all peers live', 5000, async () => {
    for (const h of HOSTS) {
      const ps = await peers(h);
      if (ps.length !== 2 || ps.some((p) => p.state !== 'alive')) return false;
    }
    return true;
  });
  expect(took).toBeLessThan(5000);
  // h2 learnt h3 from h1, and names are the hosts'
  const seen = (await peers('h2')).map((p) => p.addr).sort();
  expect(seen).toEqual(['192.168.91.1:6783', '192.168.91.3:6783']);
  const text = await shOk('h1', 'bin/weft status');
  expect(text).toMatch(/peers: 2/);
  expect(text).toMatch(/encrypted/);
}, 120_000);

test('a cut-off peer is marked dead within a few seconds and comes back when healed', async () => {
  await cut('h3');
  await waitFor('h3 dead on h1', 6000, async () => (await peers('h1')).find((p) => p.addr.startsWith('192.168.91.3'))?.state === 'dead');
  await heal('h3');
  await waitFor('h3 back on h1', 6000, async () => (await peers('h1')).find((p) => p.addr.startsWith('192.168.91.3'))?.state === 'alive');
}, 60_000);

test('a peer with the wrong password is refused and not listed', async () => {
  await shOk('h3', 'bin/weft stop');
  await shOk('h3', 'rm -rf /var/lib/weft/*');
  await shOk('h3', 'WEFT_PASSWORD=not-the-password bin/weft launch 192.168.91.1');
  await new Promise((r) => setTimeout(r, 3500));
  const onH3 = await peers('h3');
  expect(onH3).toEqual([]);
  // h1 lists only h2 live; the stranger's frames were counted as failed authentication
  const s = JSON.parse(await shOk('h1', 'bin/weft status --json')) as { mesh: { peers: PeerView[]; drops: Record<string, number> } };
  expect(s.mesh.peers.filter((p) => p.state === 'alive').map((p) => p.addr)).toEqual(['192.168.91.2:6783']);
  expect(s.mesh.drops.authFailed).toBeGreaterThan(0);
  const log = await shOk('h1', 'grep -c "wrong password" /var/lib/weft/weft.log || true');
  expect(Number(log.trim())).toBeGreaterThan(0);
}, 60_000);
