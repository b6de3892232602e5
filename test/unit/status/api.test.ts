import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiCall } from '../../../src/cli/pluginClient';
import { ApiError, apiApp } from '../../../src/status/api';

let server: Server;
let addr: { host: string; port: number };
const connected: string[] = [];

beforeAll(async () => {
  const app = apiApp({
    status: () => ({ ok: true }),
    connect: (a) => {
      if (!/^\d/.test(a)) throw new Error(`peer ${JSON.stringify(a)}: expected an IPv4 address`);
      connected.push(a);
    },
    forget: (a) => connected.includes(a),
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
