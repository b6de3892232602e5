import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiCall } from '../../../src/cli/pluginClient';
import { ApiError, apiApp } from '../../../src/status/api';
import { Metrics } from '../../../src/status/metrics';

const sources = {
  owned: () => [{ peer: 'h1', addresses: 1024 }, { peer: 'h2', addresses: 3072 }],
  pools: () => [{ subnet: '10.32.0.0/16', used: 3, free: 1021 }],
  peers: () => [{ peer: 'h2', state: 'alive', mode: 'fastdp' }, { peer: 'h3', state: 'dead', mode: 'relay' }],
  mesh: () => ({ framesIn: 10, framesOut: 12, bytesIn: 1000, bytesOut: 1200 }),
  drops: () => ({ authFailed: 2 }),
  sleeve: () => [{ peer: 'h3', framesOut: 5, bytesOut: 700, framesIn: 4, bytesIn: 600 }],
  redirects: () => ({ on: true, subnets: { '10.44.0.0/16': 3 } }),
};
const metrics = new Metrics(sources);

let server: Server;
let addr: { host: string; port: number };
const connected: string[] = [];
const stops: boolean[] = [];

beforeAll(async () => {
  const app = apiApp({
    status: () => ({ ok: true }),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    connect: (a) => {
      if (!/^\d/.test(a)) throw new Error(`peer ${JSON.stringify(a)}: expected an IPv4 address`);
      connected.push(a);
    },
    forget: (a) => connected.includes(a),
    stop: (keep) => {
      stops.push(keep);
      return { stopping: 1, keep };
    },
    rmpeer: (p) => {
      if (p === 'alive') throw new ApiError(409, 'weft: peer alive is alive');
      return { removed: p };
    },
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  addr = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('status, connect, forget, rmpeer delegate; bad input is a 4xx with one message', async () => {
  expect(await apiCall(addr, 'GET', '/status')).toEqual({ ok: true });
  expect(await apiCall(addr, 'POST', '/peers', { addr: '10.0.0.1' })).toEqual({ connected: '10.0.0.1' });
  expect(connected).toEqual(['10.0.0.1']);
  await expect(apiCall(addr, 'POST', '/peers', { addr: 'banana' })).rejects.toThrow('weft: peer "banana": expected an IPv4 address');
  await expect(apiCall(addr, 'POST', '/peers', {})).rejects.toThrow('body must be');
  expect(await apiCall(addr, 'DELETE', '/peers/10.0.0.1')).toEqual({ forgotten: '10.0.0.1' });
  await expect(apiCall(addr, 'DELETE', '/peers/10.9.9.9')).rejects.toThrow('was not told to connect to 10.9.9.9');
  expect(await apiCall(addr, 'POST', '/rmpeer', { peer: 'gone' })).toEqual({ removed: 'gone' });
  await expect(apiCall(addr, 'POST', '/rmpeer', { peer: 'alive' })).rejects.toThrow('peer alive is alive');
  await expect(apiCall(addr, 'GET', '/nothing')).rejects.toThrow('not found');
  await expect(apiCall({ host: '127.0.0.1', port: 1 }, 'GET', '/status')).rejects.toThrow('weft is not running');
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://${addr.host}:${addr.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

test('/metrics: every family, read from the sources at scrape time', async () => {
  const text = await scrape();
  for (const line of [
    'weft_ipam_owned_addresses{peer="h2"} 3072',
    'weft_ipam_pool_used_addresses{subnet="10.32.0.0/16"} 3',
    'weft_ipam_pool_free_addresses{subnet="10.32.0.0/16"} 1021',
    'weft_peers{state="alive"} 1',
    'weft_peers{state="suspect"} 0',
    'weft_peers{state="dead"} 1',
    'weft_peer_paths{mode="relay"} 1',
    'weft_peer_path{peer="h2",mode="fastdp"} 1',
    'weft_mesh_frames_total{direction="out"} 12',
    'weft_mesh_bytes_total{direction="in"} 1000',
    'weft_mesh_drops_total{reason="authFailed"} 2',
    'weft_sleeve_frames_total{peer="h3",direction="out"} 5',
    'weft_sleeve_bytes_total{peer="h3",direction="in"} 600',
    'weft_redirect_enabled 1',
    'weft_redirect_devices{subnet="10.44.0.0/16"} 3',
  ]) expect(text).toContain(line);
  expect(text).toMatch(/^weft_process_resident_memory_bytes \d+/m);
});

test('/metrics: plugin calls are counted by method and outcome, with their latency', async () => {
  metrics.pluginCall('/NetworkDriver.CreateEndpoint', 2.5);
  metrics.pluginCall('/NetworkDriver.CreateEndpoint', 1.5);
  metrics.pluginCall('/IpamDriver.RequestAddress', 0.7, 'weft: address in use');
  const text = await scrape();
  expect(text).toContain('weft_plugin_calls_total{method="NetworkDriver.CreateEndpoint",outcome="ok"} 2');
  expect(text).toContain('weft_plugin_calls_total{method="IpamDriver.RequestAddress",outcome="error"} 1');
  expect(text).toContain('weft_plugin_call_duration_seconds_count{method="NetworkDriver.CreateEndpoint"} 2');
  expect(text).toContain('weft_plugin_call_duration_seconds_bucket{le="0.005",method="NetworkDriver.CreateEndpoint"} 2');
  expect(text).toMatch(/weft_plugin_call_duration_seconds_sum\{method="NetworkDriver.CreateEndpoint"\} 0\.004\b/);
});

test('/stop passes keep on, false by default; anything else is refused', async () => {
  expect(await apiCall(addr, 'POST', '/stop', {})).toEqual({ stopping: 1, keep: false });
  expect(await apiCall(addr, 'POST', '/stop', { keep: true })).toEqual({ stopping: 1, keep: true });
  await expect(apiCall(addr, 'POST', '/stop', { keep: 'yes' })).rejects.toThrow('body must be {"keep": true|false}');
  expect(stops).toEqual([false, true]);
});
