/** An in-process weft plugin on a temporary Unix socket, over the fake netlink and memory store. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Server } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCidr } from '../../src/addr/cidr';
import { Ipam, type IpamCollections } from '../../src/ipam/ipam';
import { FakeFirewall } from '../../src/firewall/fake';
import { FakeNetlink } from '../../src/netlink/fake';
import type { NetworkCollections } from '../../src/network/model';
import { Networks } from '../../src/network/networks';
import { SparePairs } from '../../src/network/sparePairs';
import { IpamDriver } from '../../src/plugin/ipamDriver';
import { NetworkDriver } from '../../src/plugin/networkDriver';
import { routes } from '../../src/plugin/routes';
import { listenUnix, pluginApp } from '../../src/plugin/server';
import { MemoryStore } from '../../src/store/memory';
import { FakeScheduler } from '../../src/util/scheduler';
import { silentLogger } from '../../src/util/log';
import { RecordingSysctl } from '../../src/util/sysctl';

export interface Harness {
  socket: string;
  /** the host's namespace */
  netlink: FakeNetlink;
  /** the bridges' namespace: netlink itself unless the harness was started with `separate` */
  bridges: FakeNetlink;
  firewall: FakeFirewall;
  /** what routed endpoints set under /proc/sys */
  sysctl: RecordingSysctl;
  store: MemoryStore<IpamCollections & NetworkCollections>;
  ipam: Ipam;
  networks: Networks;
  call(method: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  raw(method: string, body: string | Buffer): Promise<{ status: number; json: Record<string, unknown> }>;
  /** the calls one after another (as Docker makes them), their replies in order */
  callAll(calls: ReadonlyArray<readonly [string, unknown]>): Promise<Array<{ status: number; json: Record<string, unknown> }>>;
  close(): Promise<void>;
}

/**
 * spares: veth pairs made ahead per network (the daemon's SPARE_PAIRS); none unless asked.
 * separate: the bridges in a namespace of their own (a second fake)
 */
/**
 * The calls Docker 20.10 makes to take a container off a network and then the network away (`docker rm -f`,
 * `docker network rm`): the endpoint's, its address and the gateway's released, the pool, the network.
 */
export function removalCalls(o: { network: string; endpoint: string; poolId: string; address: string; gateway: string }): Array<readonly [string, unknown]> {
  return [
    ['/NetworkDriver.RevokeExternalConnectivity', { NetworkID: o.network, EndpointID: o.endpoint }],
    ['/NetworkDriver.Leave', { NetworkID: o.network, EndpointID: o.endpoint }],
    ['/NetworkDriver.DeleteEndpoint', { NetworkID: o.network, EndpointID: o.endpoint }],
    ['/IpamDriver.ReleaseAddress', { PoolID: o.poolId, Address: o.address }],
    ['/IpamDriver.ReleaseAddress', { PoolID: o.poolId, Address: o.gateway }],
    ['/IpamDriver.ReleasePool', { PoolID: o.poolId }],
    ['/NetworkDriver.DeleteNetwork', { NetworkID: o.network }],
  ];
}

export async function startHarness(opts: { spares?: number; separate?: boolean; encrypted?: boolean; ipForward?: boolean } = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-plugin-'));
  const socket = path.join(dir, 'weft.sock');
  const netlink = new FakeNetlink();
  const bridges = opts.separate ? new FakeNetlink() : netlink;
  const ns = { host: { nl: netlink, ref: netlink.ref('host') }, bridges: { nl: bridges, ref: bridges.ref('bridges') } };
  const store = new MemoryStore<IpamCollections & NetworkCollections>();
  const clock = new FakeScheduler();
  const firewall = new FakeFirewall();
  const sysctl = new RecordingSysctl({ 'net/ipv4/ip_forward': opts.ipForward === false ? '0' : '1' });
  const spares = opts.spares ? new SparePairs({ ns, log: silentLogger, size: opts.spares, sysctl }) : undefined;
  const networks = new Networks({ store, ns, firewall, clock, log: silentLogger, mtu: 1450, routedMtu: 1500, sysctl, encrypted: opts.encrypted === true, ...(spares ? { spares } : {}) });
  const ipam = new Ipam(store, clock, { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') }, (s) => networks.subnetUser(s));
  const server: Server = await listenUnix(pluginApp(routes(new NetworkDriver(networks), new IpamDriver(ipam)), silentLogger), socket);
  const raw = async (method: string, body: string | Buffer) => {
    const r = await rawPost(socket, method, body);
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(r.body) as Record<string, unknown>;
    } catch {
      json = { unparsable: r.body };
    }
    return { status: r.status, json };
  };
  return {
    socket, netlink, bridges, firewall, sysctl, store, ipam, networks, raw,
    call: (method, body) => raw(method, JSON.stringify(body)),
    async callAll(calls) {
      const out = [];
      for (const [method, body] of calls) out.push(await raw(method, JSON.stringify(body)));
      return out;
    },
    close: () => new Promise((resolve) => {
      server.close(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

/** like postUnix, but sends the body exactly as given (bad JSON, huge bodies) */
function rawPost(socketPath: string, method: string, body: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request({ socketPath, method: 'POST', path: method, headers: { 'Content-Length': payload.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // the server may answer 413 and close before the whole body is written
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return;
      reject(e);
    });
    req.end(payload);
  });
}
