/**
 * The composition root: builds every service from the config and wires them.
 * No logic of its own beyond start and stop order.
 */
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import { DockerClient, dockerEndpoint } from '../docker/client';
import { DockerSync } from '../docker/sync';
import { IptablesFirewall } from '../firewall/iptables';
import { formatCidr } from '../ipam/cidr';
import { Ipam, type IpamCollections } from '../ipam/ipam';
import { RtNetlink } from '../netlink/rtnetlink';
import type { NetworkCollections } from '../network/model';
import { deriveMtu } from '../network/mtu';
import { Networks } from '../network/networks';
import { Reconciler } from '../network/reconciler';
import { IpamDriver } from '../plugin/ipamDriver';
import { NetworkDriver } from '../plugin/networkDriver';
import { routes } from '../plugin/routes';
import { listenUnix, pluginApp } from '../plugin/server';
import { listenStatus } from '../status/server';
import { SqliteStore } from '../store/sqlite';
import { systemClock } from '../util/clock';
import { makeLogger } from '../util/log';
import { VERSION } from '../version';
import type { Config } from './config';
import { removePid, runningPid, writePid } from './pidFile';

export class AlreadyRunning extends Error {}

export async function runDaemon(config: Config): Promise<{ stop: () => Promise<void> }> {
  const other = runningPid(config.pidFile);
  if (other !== undefined) throw new AlreadyRunning(`weft is already running (pid ${other})`);
  writePid(config.pidFile);
  const log = makeLogger(config.logLevel);
  const clock = systemClock;
  const store = new SqliteStore<IpamCollections & NetworkCollections>(path.join(config.stateDir, 'weft.db'));
  const netlink = await RtNetlink.open();
  const mtu = config.mtu ?? deriveMtu(await netlink.listLinks(), await netlink.listRoutes());
  const firewall = new IptablesFirewall(log.child({ c: 'firewall' }));
  const networks = new Networks({ store, netlink, firewall, clock, log: log.child({ c: 'network' }), mtu });
  const ipam = new Ipam(store, clock, { range: config.range, defaultSubnet: config.defaultSubnet }, (s) => networks.subnetUser(s));
  const reconciler = new Reconciler({ networks, ipam, netlink, firewall, clock, log: log.child({ c: 'reconcile' }), ipamDriver: config.name });
  await reconciler.kernel();

  const docker = new DockerClient(dockerEndpoint(config.dockerHost));
  const sync = new DockerSync(docker, reconciler, log.child({ c: 'docker' }), {
    name: config.name,
    defaultSubnet: config.defaultSubnet,
    createDefaultNetwork: config.defaultNetwork,
    intervalMs: 60_000,
    retryMs: 1_000,
  });

  const plugin = await listenUnix(pluginApp(routes(new NetworkDriver(networks), new IpamDriver(ipam)), log.child({ c: 'plugin' })), config.socketPath);
  const status = await listenStatus(config.statusAddr, () => ({
    version: VERSION,
    pid: process.pid,
    name: config.name,
    socket: config.socketPath,
    stateDir: config.stateDir,
    range: formatCidr(config.range),
    defaultSubnet: formatCidr(config.defaultSubnet),
    mtu,
    docker: { checked: sync.checked, reachable: sync.reachable, defaultNetwork: sync.defaultNetwork },
    networks: networks.networks(),
    endpoints: networks.endpoints(),
    pools: ipam.status(),
  }));
  sync.start();
  log.info({ version: VERSION, socket: config.socketPath, status: `${config.statusAddr.host}:${config.statusAddr.port}`, mtu }, 'weft started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('weft stopping');
      sync.stop();
      await Promise.all([closeServer(plugin), closeServer(status)]);
      fs.rmSync(config.socketPath, { force: true });
      await netlink.close();
      store.close();
      removePid(config.pidFile);
      log.info('weft stopped');
      log.flush();
    })());
  return { stop };
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
